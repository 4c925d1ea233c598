"""Seeded random system-table rows, dense in the cases the collectors must get right.

Not a realistic workload (that is the simulator's generator): times sit on a coarse grid so
that touching intervals, equal timestamps and window-boundary hits are common, and every
column the collectors read is NULL now and then.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

from collectors.fixtures import NOW
from databricks_exporter.sim.data.billing import usage_metadata
from reference import (
    JOB_NAMES,
    JOB_RUNS,
    LIST_PRICES,
    PIPELINE_NAMES,
    PIPELINE_UPDATES,
    QUERY_HISTORY,
    TASK_RUNS,
    USAGE,
    WAREHOUSES,
)

Rows = dict[str, list[dict[str, object]]]

BASE = NOW.replace(tzinfo=None)
WORKSPACES = ("ws1", "ws2", "ws3", None, 'ws "odd" \\ ü\n')
JOB_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "TIMED_OUT", "NEW_STATE")
PIPELINE_STATES = ("COMPLETED", "FAILED", "CANCELED")
UPDATE_TYPES = ("REFRESH", "FULL_REFRESH", "VALIDATE", None)
SKUS = ("SKU_A", "SKU_B", "SKU_C", None)
CLOUDS = ("AWS", "AZURE")


def _moment(rng: random.Random, hours_back: float, grid_seconds: int) -> dt.datetime:
    """A time within `hours_back` before now, on a grid (so ties happen), maybe in the future."""
    steps = int(hours_back * 3600 / grid_seconds)
    return BASE - dt.timedelta(seconds=grid_seconds * rng.randint(-2, steps))


def _slices(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Clock-hour slices tiling [start, end]."""
    cuts = [start]
    hour = start.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    while hour < end:
        cuts.append(hour)
        hour += dt.timedelta(hours=1)
    cuts.append(end)
    return list(itertools.pairwise(cuts))


def _run_rows(
    rng: random.Random, key: dict[str, object], hours_back: float, states: tuple[str, ...]
) -> list[dict[str, object]]:
    start = _moment(rng, hours_back, 300)
    end = start + dt.timedelta(seconds=rng.choice((0, 60, 600, 3600, 3601, 5400, 4 * 3600)))
    state = rng.choice((*states, None))
    spans = _slices(start, end)
    rows = [
        key | {"period_start_time": a, "period_end_time": b, "result_state": None} for a, b in spans
    ]
    if state is not None:
        rows[-1]["result_state"] = state
    if state is not None and rng.random() < 0.2:  # a repair: another terminal slice, later
        later = end + dt.timedelta(minutes=rng.choice((5, 30, 90)))
        rows.append(
            key
            | {
                "period_start_time": later,
                "period_end_time": later + dt.timedelta(minutes=10),
                "result_state": rng.choice(states),
            }
        )
    return rows


def _jobs(rng: random.Random, rows: Rows, runs: int) -> None:
    for number in range(runs):
        workspace = rng.choice(WORKSPACES)
        key: dict[str, object] = {
            "workspace_id": workspace,
            "job_id": f"j{rng.randint(1, 5)}",
            "run_id": f"r{number}",
        }
        rows[JOB_RUNS] += _run_rows(rng, key, 60, JOB_STATES)
        for task in rng.sample(("a", "b", None), rng.randint(0, 2)):
            for attempt in range(rng.choice((1, 1, 2, 3))):
                task_key: dict[str, object] = {
                    "workspace_id": workspace,
                    "job_id": key["job_id"],
                    "job_run_id": key["run_id"],
                    "task_key": task,
                    "run_id": f"t{number}-{task}-{attempt}",
                }
                rows[TASK_RUNS] += _run_rows(rng, task_key, 30, JOB_STATES)


def _pipelines(rng: random.Random, rows: Rows, updates: int) -> None:
    for number in range(updates):
        key: dict[str, object] = {
            "workspace_id": rng.choice(WORKSPACES),
            "pipeline_id": f"p{rng.randint(1, 3)}",
            "update_id": f"u{number}",
            "update_type": rng.choice(UPDATE_TYPES),
            "request_id": rng.choice((f"q{rng.randint(1, 4)}", f"q{rng.randint(1, 4)}", None)),
        }
        rows[PIPELINE_UPDATES] += _run_rows(rng, key, 9 * 24, PIPELINE_STATES)


def _queries(rng: random.Random, rows: Rows, statements: int) -> None:
    for _ in range(statements):
        start = _moment(rng, 1.5, 30)
        end = start + dt.timedelta(seconds=30 * rng.randint(-1, 20))
        tags = rng.choice((None, {}, {"app": "databricks-exporter"}, {"app": "bi", "x": "y"}))
        rows[QUERY_HISTORY].append(
            {
                "workspace_id": rng.choice(WORKSPACES),
                "execution_status": rng.choice(("FINISHED", "FAILED", "CANCELED")),
                "start_time": start,
                "end_time": rng.choice((end, end, end, None)),
                "total_duration_ms": rng.choice((None, rng.randint(0, 600_000))),
                "query_tags": tags,
            }
        )


def _price(
    rng: random.Random, sku: str | None, cloud: str, start: dt.datetime
) -> dict[str, object]:
    value = Decimal(rng.randint(1, 400)) / 100
    return {
        "sku_name": sku,
        "cloud": cloud,
        "currency_code": rng.choice(("USD", "USD", "USD", "EUR")),
        "usage_unit": rng.choice(("DBU", "DBU", "GB")),
        "price_start_time": start,
        "price_end_time": None,
        "pricing": {"default": value, "promotional": None, "effective_list": {"default": value}},
    }


def _billing(rng: random.Random, rows: Rows, usage_rows: int) -> None:
    for sku in SKUS:
        for cloud in CLOUDS:
            starts = sorted({_moment(rng, 200 * 24, 86400) for _ in range(rng.randint(1, 4))})
            prices = [_price(rng, sku, cloud, start) for start in starts]
            for earlier, later in itertools.pairwise(prices):
                later["usage_unit"] = earlier["usage_unit"]
                later["currency_code"] = earlier["currency_code"]
                earlier["price_end_time"] = later["price_start_time"]
            rows[LIST_PRICES] += prices
    for _ in range(usage_rows):
        start = _moment(rng, 40 * 24, 3600)
        quantity = Decimal(rng.randint(-5, 100)) / 4
        row: dict[str, object] = {
            "workspace_id": rng.choice(WORKSPACES),
            "sku_name": rng.choice(SKUS),
            "cloud": rng.choice(CLOUDS),
            "usage_unit": rng.choice(("DBU", "DBU", "GB")),
            "record_type": "ORIGINAL",
            "usage_start_time": start,
            "usage_end_time": start + dt.timedelta(hours=1),
            "usage_date": start.date(),
            "usage_quantity": quantity,
        }
        rows[USAGE].append(row)
        if rng.random() < 0.1:  # a correction
            rows[USAGE].append(row | {"record_type": "RETRACTION", "usage_quantity": -quantity})


NAMES = ("alpha", "beta", 'odd "name" \\ ü\nline 2', "", None)
TAGS = ("t1", "t2", "t3", "", "unknown")
PRODUCTS = ("JOBS", "SQL", "", None)


def _drilldown_columns(rng: random.Random, rows: Rows) -> None:
    """What the drill-downs read: warehouses, tags, products, job ids of usage (drawn from a
    separate generator, so the columns the seed metrics read are the same with or without)."""
    for row in rows[QUERY_HISTORY]:
        warehouse = rng.choice(("w1", "w2", "w3", "w4", None))
        row["compute"] = {"type": "WAREHOUSE", "cluster_id": None, "warehouse_id": warehouse}
    for row in rows[USAGE]:
        tags = {key: rng.choice(TAGS) for key in ("team", "project") if rng.random() < 0.8}
        row["custom_tags"] = rng.choice((tags, tags, tags, None))
        row["billing_origin_product"] = rng.choice(PRODUCTS)
        row["usage_metadata"] = usage_metadata(job_id=rng.choice(("j1", "j2", "j3", "j4", None)))


def _name_history(
    rng: random.Random, key: dict[str, object], name_column: str
) -> list[dict[str, object]]:
    """0-3 SCD2 rows of one entity: names (some empty or NULL), tied changes, deletions."""
    history = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        changed = _moment(rng, 60 * 24, 86400)
        deleted = rng.choice((None, None, None, changed, BASE - dt.timedelta(days=90)))
        history.append(
            key | {name_column: rng.choice(NAMES), "change_time": changed, "delete_time": deleted}
        )
    return history


def _names(rng: random.Random, rows: Rows) -> None:
    tables = (
        (JOB_NAMES, "job_id", ("j1", "j2", "j3", "j4", "j5"), "name"),
        (PIPELINE_NAMES, "pipeline_id", ("p1", "p2", "p3"), "name"),
        (WAREHOUSES, "warehouse_id", ("w1", "w2", "w3", "w4"), "warehouse_name"),
    )
    for table, id_column, ids, name_column in tables:
        rows[table] = []
        for workspace in WORKSPACES:
            for ident in ids:
                key: dict[str, object] = {"workspace_id": workspace, id_column: ident}
                rows[table] += _name_history(rng, key, name_column)


def random_rows(seed: int, size: int = 200) -> Rows:
    """Rows for every table the collectors read, reproducible from `seed`."""
    rng = random.Random(seed)
    rows: Rows = {name: [] for name in (USAGE, LIST_PRICES, JOB_RUNS, TASK_RUNS)}
    rows |= {PIPELINE_UPDATES: [], QUERY_HISTORY: []}
    _jobs(rng, rows, size)
    _pipelines(rng, rows, size)
    _queries(rng, rows, size)
    _billing(rng, rows, size)
    drilldown = random.Random(seed + 1000)
    _drilldown_columns(drilldown, rows)
    _names(drilldown, rows)
    return rows
