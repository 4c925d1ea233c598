"""The expected value of every data metric, computed in plain Python from raw table rows.

This is the independent check of the collectors' SQL: it is written from METRICS.md (plus the
decisions documented in the collectors' SQL and HELP texts) with dicts, sets and sorting, and
reads the tables with a plain SELECT of the columns it needs, so no aggregation happens in SQL.

    tables = fetch_tables(con)                  # {"system.billing.usage": [row dicts], ...}
    expected = expected_metrics(tables, now)    # {metric: {labels: value}}
    expected["databricks_job_runs_total"][labels(workspace_id="ws1")] == 3.0

`labels` are frozensets of (label, value) pairs, NULL label values already mapped to
`unknown`, so a parsed scrape compares directly (`from_samples`). `databricks_up` is the
scheduler's and is not computed here.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol, TypeVar

from databricks_exporter.settings import Windows

Row = Mapping[str, Any]
Tables = Mapping[str, list[Row]]
Labels = frozenset[tuple[str, str]]
Series = dict[Labels, float]
Expected = dict[str, Series]

USAGE = "system.billing.usage"
LIST_PRICES = "system.billing.list_prices"
JOB_RUNS = "system.lakeflow.job_run_timeline"
TASK_RUNS = "system.lakeflow.job_task_run_timeline"
PIPELINE_UPDATES = "system.lakeflow.pipeline_update_timeline"
QUERY_HISTORY = "system.query.history"
_TIMES = ("period_start_time", "period_end_time", "result_state")
#: The columns the reference reads, per table (the wide struct columns are left out: fast).
COLUMNS = {
    USAGE: (
        "workspace_id", "sku_name", "cloud", "usage_unit", "usage_date", "usage_start_time",
        "usage_end_time", "usage_quantity", "record_type",
    ),
    LIST_PRICES: (
        "sku_name", "cloud", "currency_code", "usage_unit", "price_start_time",
        "price_end_time", "pricing",
    ),
    JOB_RUNS: ("workspace_id", "job_id", "run_id", *_TIMES),
    TASK_RUNS: ("workspace_id", "job_run_id", "task_key", "run_id", *_TIMES),
    PIPELINE_UPDATES: (
        "workspace_id", "pipeline_id", "update_id", "update_type", "request_id", *_TIMES,
    ),
    QUERY_HISTORY: (
        "workspace_id", "execution_status", "start_time", "end_time", "total_duration_ms",
        "query_tags",
    ),
}  # fmt: skip
TABLES = tuple(COLUMNS)

QUANTILES = (("0.5", Fraction(1, 2)), ("0.95", Fraction(95, 100)), ("0.99", Fraction(99, 100)))
EXPORTER_TAG = ("app", "databricks-exporter")
SECOND = dt.timedelta(seconds=1)
MICRO = dt.timedelta(microseconds=1)
T = TypeVar("T")


class _Connection(Protocol):
    def execute(self, query: str) -> Any: ...


def fetch_tables(con: _Connection, catalog: str = "databricks_system") -> dict[str, list[Row]]:
    """Every row of the tables the collectors read, as dicts: a plain SELECT of `COLUMNS`."""
    tables: dict[str, list[Row]] = {}
    for name, columns in COLUMNS.items():
        _, schema, table = name.split(".")
        cursor = con.execute(f"SELECT {', '.join(columns)} FROM {catalog}.{schema}.{table}")
        tables[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return tables


def labels(**pairs: object) -> Labels:
    """Series labels as the exposition shows them: NULL becomes `unknown`, values are text."""
    return frozenset((name, "unknown" if v is None else str(v)) for name, v in pairs.items())


def quantile(values: Iterable[float], p: Fraction) -> float:
    """Exact percentile: the smallest value with at least p of the values <= it."""
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def from_samples(samples: Iterable[Any]) -> Expected:
    """Samples (prometheus-client `Sample`s, parsed or built) in the shape of the reference."""
    result: Expected = defaultdict(dict)
    for sample in samples:
        result[sample.name][frozenset(sample.labels.items())] = float(sample.value)
    return dict(result)


def expected_metrics(tables: Tables, now: dt.datetime, windows: Windows | None = None) -> Expected:
    """Every data metric of every collector."""
    windows = windows or Windows()
    result: Expected = {}
    for domain in (billing, jobs, pipelines, queries):
        result.update(domain(tables, now, windows))
    return result


# ---------------------------------------------------------------------------------------------
# shared


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, like the TIMESTAMP columns."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _ago(now: dt.datetime, seconds: float) -> dt.datetime:
    return now - dt.timedelta(seconds=round(seconds))


def _group(items: Iterable[T], key: Callable[[T], tuple[Any, ...]]) -> dict[Any, list[T]]:
    groups: dict[Any, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def _count(keys: Iterable[Labels]) -> Series:
    counts: Series = defaultdict(float)
    for key in keys:
        counts[key] += 1
    return dict(counts)


def _quantiles(durations: Mapping[Any, list[float]]) -> Series:
    """p50/p95/p99 per workspace of `{workspace_id: [values]}` (workspaces with values)."""
    return {
        labels(workspace_id=workspace, quantile=name): quantile(values, p)
        for workspace, values in durations.items()
        if values
        for name, p in QUANTILES
    }


@dataclass(frozen=True)
class Run:
    """A job run or pipeline update assembled from its slices."""

    workspace_id: str | None
    started: dt.datetime
    ended: dt.datetime
    final_state: str | None
    slices: tuple[Row, ...]

    @property
    def seconds(self) -> float:
        """Duration from the first slice start to the last slice end."""
        return (self.ended - self.started) / SECOND


def _assemble(slices: list[Row]) -> Run:
    terminal = [s for s in slices if s["result_state"] is not None]
    latest = max(terminal, key=lambda s: (s["period_end_time"], s["result_state"]), default=None)
    return Run(
        workspace_id=slices[0]["workspace_id"],
        started=min(s["period_start_time"] for s in slices),
        ended=max(s["period_end_time"] for s in slices),
        final_state=None if latest is None else latest["result_state"],
        slices=tuple(slices),
    )


def _runs(rows: Iterable[Row], since: dt.datetime, now: dt.datetime, key: str) -> list[Run]:
    """Runs (or updates) keyed by (workspace_id, parent, `key`) from slices ending in range."""
    parent = "job_id" if key == "run_id" else "pipeline_id"
    kept = [r for r in rows if r["period_end_time"] and since <= r["period_end_time"] <= now]
    grouped = _group(kept, lambda r: (r["workspace_id"], r[parent], r[key]))
    return [_assemble(slices) for slices in grouped.values()]


def _run_metrics(runs: list[Run], prefix: str) -> tuple[Expected, list[Run]]:
    """Counts, status and duration quantiles of runs active in the window; finished ones."""
    finished = [r for r in runs if r.final_state is not None]
    durations: dict[Any, list[float]] = defaultdict(list)
    for run in finished:
        durations[run.workspace_id].append(run.seconds)
    return {
        f"{prefix}_runs_total": _count(labels(workspace_id=r.workspace_id) for r in runs),
        f"{prefix}_run_status": _count(
            labels(workspace_id=r.workspace_id, status=r.final_state) for r in finished
        ),
        f"{prefix}_run_duration_seconds": _quantiles(durations),
    }, finished


# ---------------------------------------------------------------------------------------------
# billing


def _usage_in_dates(tables: Tables, now: dt.datetime, windows: Windows) -> list[Row]:
    first = _ago(now, windows.billing_lookback).date()
    return [u for u in tables[USAGE] if u["usage_date"] and first <= u["usage_date"] <= now.date()]


def _list_price(price: Row) -> Decimal | None:
    effective = (price["pricing"] or {}).get("effective_list") or {}
    value: Decimal | None = effective.get("default")
    return value


def _price_at(usage: Row, prices: list[Row]) -> Decimal | None:
    """The USD list price in effect when the usage started (the latest to take effect)."""
    start = usage["usage_start_time"]
    candidates = [
        (p["price_start_time"], _list_price(p))
        for p in prices
        if p["currency_code"] == "USD"
        and usage["sku_name"] is not None
        and (p["sku_name"], p["cloud"], p["usage_unit"])
        == (usage["sku_name"], usage["cloud"], usage["usage_unit"])
        and usage["cloud"] is not None
        and usage["usage_unit"] is not None
        and start is not None
        and p["price_start_time"] is not None
        and p["price_start_time"] <= start
        and (p["price_end_time"] is None or start < p["price_end_time"])
        and _list_price(p) is not None
    ]
    return max(candidates, default=(None, None))[1]


def _price_changes(prices: list[Row], since: dt.datetime, now: dt.datetime) -> Series:
    first_start: dict[tuple[Any, ...], dt.datetime] = {}
    for p in prices:
        key = (p["sku_name"], p["cloud"], p["currency_code"], p["usage_unit"])
        if p["price_start_time"] is not None:
            first_start[key] = min(
                first_start.get(key, p["price_start_time"]), p["price_start_time"]
            )
    changes = [
        p
        for p in prices
        if p["price_start_time"] is not None
        and since <= p["price_start_time"] <= now
        and p["price_start_time"]
        > first_start[(p["sku_name"], p["cloud"], p["currency_code"], p["usage_unit"])]
    ]
    return _count(labels(sku_name=p["sku_name"]) for p in changes)


def billing(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """dbus per day, cost at the price in effect at usage start, price change events."""
    now = _utc(now)
    usage = _usage_in_dates(tables, now, windows)
    dbus: dict[Labels, Decimal] = defaultdict(Decimal)
    cost: Series = defaultdict(float)
    daily: Series = defaultdict(float)
    for u in usage:
        key = labels(
            workspace_id=u["workspace_id"], sku_name=u["sku_name"], usage_date=u["usage_date"]
        )
        quantity = u["usage_quantity"] or Decimal(0)  # NULL counts as no usage
        if u["usage_unit"] == "DBU":
            dbus[key] += quantity
        price = _price_at(u, tables[LIST_PRICES])
        if price is not None:
            cost[key] += float(quantity) * float(price)
            days_ago = (now.date() - u["usage_date"]).days
            if 1 <= days_ago <= 7:  # complete UTC days only
                daily[labels(workspace_id=u["workspace_id"], days_ago=days_ago)] += float(
                    quantity
                ) * float(price)
    changes_since = _ago(now, windows.price_change_lookback)
    return {
        "databricks_billing_dbus_total": {k: float(v) for k, v in dbus.items()},
        "databricks_billing_cost_estimate_usd": dict(cost),
        "databricks_billing_daily_cost_usd": dict(daily),
        "databricks_billing_latest_usage_timestamp_seconds": _latest_usage(usage),
        "databricks_price_change_events": _price_changes(tables[LIST_PRICES], changes_since, now),
    }


def _latest_usage(usage: list[Row]) -> Series:
    """Per workspace, the end of its newest usage row, in whole epoch seconds."""
    latest: dict[Labels, dt.datetime] = {}
    for u in usage:
        end, key = u["usage_end_time"], labels(workspace_id=u["workspace_id"])
        if end is not None:
            latest[key] = max(latest.get(key, end), end)
    return {k: float(math.floor(v.replace(tzinfo=dt.UTC).timestamp())) for k, v in latest.items()}


# ---------------------------------------------------------------------------------------------
# jobs


def _task_retries(rows: list[Row], since: dt.datetime, now: dt.datetime) -> Series:
    active = [r for r in rows if r["period_end_time"] and since <= r["period_end_time"] <= now]
    retries: Series = {labels(workspace_id=r["workspace_id"]): 0.0 for r in active}
    groups = _group(active, lambda r: (r["workspace_id"], r["job_run_id"], r["task_key"]))
    for (workspace, job_run, task_key), slices in groups.items():
        if job_run is None or task_key is None:
            continue
        task_runs = {s["run_id"] for s in slices if s["run_id"] is not None}
        retries[labels(workspace_id=workspace)] += max(len(task_runs) - 1, 0)
    return retries


def jobs(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Runs assembled from slices: counts, states, durations, SLA misses; task retries."""
    now = _utc(now)
    window_start = _ago(now, windows.jobs_lookback)
    history_start = _ago(now, windows.jobs_lookback + windows.run_history)
    runs = _runs(tables[JOB_RUNS], history_start, now, "run_id")
    active = [r for r in runs if r.ended >= window_start]
    result, finished = _run_metrics(active, "databricks_job")
    misses = {labels(workspace_id=r.workspace_id): 0.0 for r in active}
    for run in finished:
        if run.seconds > windows.sla_threshold:
            misses[labels(workspace_id=run.workspace_id)] += 1
    result["databricks_job_sla_miss_total"] = misses
    result["databricks_task_retries_total"] = _task_retries(tables[TASK_RUNS], window_start, now)
    return result


# ---------------------------------------------------------------------------------------------
# pipelines


def _latest(slices: Iterable[Row], column: str) -> Any:
    values = [s[column] for s in slices if s[column] is not None]
    return max(values, default=None)


def _restarts(updates: list[Run], active: list[Run]) -> Series:
    """Per workspace with active updates: updates beyond the first of each active request."""
    restarts: Series = {labels(workspace_id=u.workspace_id): 0.0 for u in active}
    active_ids = {id(u) for u in active}
    by_request = _group(
        [u for u in updates if _latest(u.slices, "request_id") is not None],
        lambda u: (u.workspace_id, u.slices[0]["pipeline_id"], _latest(u.slices, "request_id")),
    )
    for (workspace, _, _), members in by_request.items():
        if any(id(u) in active_ids for u in members):
            restarts[labels(workspace_id=workspace)] += len(members) - 1
    return restarts


def _freshness(updates: list[Run], now: dt.datetime, since: dt.datetime) -> Series:
    latest: dict[tuple[Any, ...], dt.datetime] = {}
    for u in updates:
        if u.final_state == "COMPLETED" and u.ended >= since:
            key = (u.workspace_id, u.slices[0]["pipeline_id"], _latest(u.slices, "update_type"))
            latest[key] = max(latest.get(key, u.ended), u.ended)
    lags: dict[Labels, list[int]] = defaultdict(list)
    for (workspace, _, update_type), ended in latest.items():
        lags[labels(workspace_id=workspace, stage=update_type)].append((now - ended) // MICRO)
    # The mean of exact microseconds, in seconds.
    return {key: float(sum(values)) / len(values) / 1e6 for key, values in lags.items()}


def pipelines(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Updates assembled from slices: counts, states, durations, restarts, freshness."""
    now = _utc(now)
    window_start = _ago(now, windows.pipelines_lookback)
    scanned = max(
        windows.pipelines_lookback + windows.run_history, windows.pipelines_freshness_horizon
    )
    updates = _runs(tables[PIPELINE_UPDATES], _ago(now, scanned), now, "update_id")
    active = [u for u in updates if u.ended >= window_start]
    result, _ = _run_metrics(active, "databricks_pipeline")
    result["databricks_pipeline_retry_events_total"] = _restarts(updates, active)
    horizon = _ago(now, windows.pipelines_freshness_horizon)
    result["databricks_pipeline_freshness_lag_seconds"] = _freshness(updates, now, horizon)
    return result


# ---------------------------------------------------------------------------------------------
# queries


def _is_exporters(statement: Row) -> bool:
    tags = statement["query_tags"] or {}
    return bool(tags.get(EXPORTER_TAG[0]) == EXPORTER_TAG[1])


def peak_concurrency(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> int:
    """Most half-open intervals [start, end) containing one instant (0 if all are empty).

    The instants worth checking are the starts of non-empty intervals; at instant t the
    intervals containing it are those started at or before t minus those ended at or before t.
    """
    spans = [(start, end) for start, end in intervals if end > start]
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    return max(
        (bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in starts),
        default=0,
    )


def queries(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Statements started in the window (not the exporter's): counts, errors, durations, peak."""
    now = _utc(now)
    since = _ago(now, windows.queries_lookback)
    statements = [
        q
        for q in tables[QUERY_HISTORY]
        if q["start_time"] and since <= q["start_time"] <= now and not _is_exporters(q)
    ]
    by_workspace = _group(statements, lambda q: (q["workspace_id"],))
    durations = {
        workspace: [
            q["total_duration_ms"] / 1000 for q in rows if q["total_duration_ms"] is not None
        ]
        for (workspace,), rows in by_workspace.items()
    }
    return {
        "databricks_queries_total": {
            labels(workspace_id=w): float(len(rows)) for (w,), rows in by_workspace.items()
        },
        "databricks_query_errors_total": {
            labels(workspace_id=w): float(sum(q["execution_status"] == "FAILED" for q in rows))
            for (w,), rows in by_workspace.items()
        },
        "databricks_query_duration_seconds": _quantiles(durations),
        "databricks_queries_running": {
            labels(workspace_id=w): float(
                peak_concurrency((q["start_time"], q["end_time"] or now) for q in rows)
            )
            for (w,), rows in by_workspace.items()
        },
    }
