"""The named scenarios hold exactly what SCENARIOS documents, at any minute of the hour.

The expected values below are the numbers written in the scenario descriptions; the actual
ones are computed here in Python from the generated rows, following METRICS.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from databricks_exporter.sim.generator import (
    ODD_VALUES,
    OVERLAP_WORKSPACE,
    SCENARIO_WORKSPACE,
    SCENARIOS,
    create_database,
    generate,
)

from .test_generator import DAY, HOUR, Row, fetch, grouped

NOWS = (
    dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 25, 18, 37, 12, 345678, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 0, 59, 59, 999999, tzinfo=dt.UTC),
)
ODD_STATE = ODD_VALUES["job_run_timeline.result_state"]
ODD_TYPE = ODD_VALUES["pipeline_update_timeline.update_type"]


@pytest.fixture(scope="module", params=NOWS, ids=["on-the-hour", "mid-hour", "end-of-hour"])
def world(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dt.datetime]]:
    database = create_database()
    generate(database, seed=3, scale="small", now=request.param)
    yield database, request.param.replace(tzinfo=None)
    database.close()


def quantile(values: list[float], p: float) -> float:
    """The smallest value with at least p of the values at or below it."""
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def in_window(moment: dt.datetime, now: dt.datetime, span: dt.timedelta) -> bool:
    return now - span <= moment <= now


def run_metrics(runs: dict[tuple[Any, ...], list[Row]], now: dt.datetime) -> dict[str, Any]:
    """Runs active, final states, durations of finished runs ending in the 24 h window."""
    active = [
        rows
        for rows in runs.values()
        if any(in_window(r["period_end_time"], now, DAY) for r in rows)
    ]
    states: dict[str, int] = defaultdict(int)
    durations = []
    for rows in runs.values():
        terminal = [r for r in rows if r["result_state"] is not None]
        end = max(r["period_end_time"] for r in rows)
        if terminal and in_window(end, now, DAY):
            states[max(terminal, key=lambda r: r["period_end_time"])["result_state"]] += 1
            durations.append((end - min(r["period_start_time"] for r in rows)).total_seconds())
    return {"runs": len(active), "states": dict(states), "durations": sorted(durations)}


def retries(rows: list[Row], now: dt.datetime, parent: str, child: str, key: str) -> int:
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        if in_window(row["period_end_time"], now, DAY):
            ids[(row[parent], row[key])].add(row[child])
    return sum(len(found) - 1 for found in ids.values())


def scenario_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[Row]:
    return fetch(con, f"SELECT * FROM {table} WHERE workspace_id = $w", w=SCENARIO_WORKSPACE)


def test_job_scenarios(world: tuple[duckdb.DuckDBPyConnection, dt.datetime]) -> None:
    con, now = world
    rows = scenario_rows(con, "system.lakeflow.job_run_timeline")
    runs = grouped(rows, "job_id", "run_id")
    metrics = run_metrics(runs, now)
    assert metrics["runs"] == 8
    assert metrics["states"] == {"SUCCEEDED": 4, "FAILED": 1, "TIMED_OUT": 1, ODD_STATE: 1}
    assert metrics["durations"] == [1200, 1500, 3000, 9000, 11400, 13200, 153900]
    assert quantile(metrics["durations"], 0.5) == 9000
    assert quantile(metrics["durations"], 0.95) == quantile(metrics["durations"], 0.99) == 153900
    assert sum(d > 3600 for d in metrics["durations"]) == 4
    slices = {key[1]: len(found) for key, found in runs.items()}
    assert slices == {
        "900101": 4, "900201": 4, "900301": 3, "900401": 3, "900501": 44,
        "900601": 1, "900701": 1, "900801": 2, "900901": 1,
    }  # fmt: skip
    tasks = scenario_rows(con, "system.lakeflow.job_task_run_timeline")
    assert retries(tasks, now, "job_run_id", "run_id", "task_key") == 3
    assert {r["run_id"] for r in tasks if r["task_key"] == "transform"} == {"90030201"}
    for key in ("job_3h", "job_repaired", "job_in_progress", "job_no_name"):
        assert SCENARIOS[key].ids["run_id"] in {k[1] for k in runs}


def test_job_scenario_details(world: tuple[duckdb.DuckDBPyConnection, dt.datetime]) -> None:
    con, now = world
    anchor = now.replace(minute=0, second=0, microsecond=0)
    runs = grouped(scenario_rows(con, "system.lakeflow.job_run_timeline"), "run_id")
    repaired = [r["result_state"] for r in runs[("900201",)] if r["result_state"]]
    assert repaired == ["FAILED", "SUCCEEDED"]
    assert [r["result_state"] for r in runs[("900401",)]] == [None, None, None]
    assert runs[("900401",)][-1]["period_end_time"] == anchor
    early = runs[("900501",)][0]["period_start_time"]
    assert dt.timedelta(hours=19.5) <= (now - DAY) - early <= dt.timedelta(hours=20.5)
    names = defaultdict(list)
    for row in sorted(scenario_rows(con, "system.lakeflow.jobs"), key=lambda r: r["change_time"]):
        names[row["job_id"]].append(row)
    assert "9009" not in names
    assert "9009" in {r[0]["job_id"] for r in runs.values()}
    assert [r["name"] for r in names["9001"]] == ["scenario_three_hours", "scenario_three_hours_v2"]
    assert names["9007"][-1]["delete_time"] == anchor - 20 * HOUR
    assert names["9006"][0]["name"] == ODD_VALUES["jobs.name"]


def test_pipeline_scenarios(world: tuple[duckdb.DuckDBPyConnection, dt.datetime]) -> None:
    con, now = world
    rows = scenario_rows(con, "system.lakeflow.pipeline_update_timeline")
    updates = grouped(rows, "pipeline_id", "update_id")
    metrics = run_metrics(updates, now)
    assert metrics["runs"] == 7
    assert metrics["states"] == {"FAILED": 2, "COMPLETED": 3, "CANCELED": 1}
    assert metrics["durations"] == [600, 900, 1200, 1800, 1800, 6300]
    assert quantile(metrics["durations"], 0.5) == 1200
    assert quantile(metrics["durations"], 0.95) == 6300
    assert retries(rows, now, "pipeline_id", "update_id", "request_id") == 2
    restarts = SCENARIOS["pipeline_restarts"].ids
    triggers = [
        u[0]["trigger_type"] for k, u in sorted(updates.items()) if k[0] == restarts["pipeline_id"]
    ]
    assert triggers == ["JOB_TASK", "RETRY_ON_FAILURE", "RETRY_ON_FAILURE"]
    anchor = now.replace(minute=0, second=0, microsecond=0)
    expected = {"REFRESH": (380 + 1450) / 2, "FULL_REFRESH": 2880, "VALIDATE": 190, ODD_TYPE: 370}
    assert freshness(updates, now) == pytest.approx(
        {stage: (now - anchor).total_seconds() + m * 60 for stage, m in expected.items()}
    )


def freshness(updates: dict[tuple[Any, ...], list[Row]], now: dt.datetime) -> dict[str, float]:
    latest: dict[tuple[str, str], dt.datetime] = {}
    for (pipeline_id, _), rows in updates.items():
        last = rows[-1]
        if last["result_state"] == "COMPLETED" and last["period_end_time"] >= now - 7 * DAY:
            key = (pipeline_id, last["update_type"])
            latest[key] = max(latest.get(key, last["period_end_time"]), last["period_end_time"])
    lags: dict[str, list[float]] = defaultdict(list)
    for (_, stage), end in latest.items():
        lags[stage].append((now - end).total_seconds())
    return {stage: sum(values) / len(values) for stage, values in lags.items()}


def test_billing_scenarios(world: tuple[duckdb.DuckDBPyConnection, dt.datetime]) -> None:
    con, now = world
    day = dt.datetime.combine(now.date(), dt.time())
    rows = fetch(
        con,
        "SELECT * FROM system.billing.usage WHERE workspace_id = $w OR workspace_id IS NULL",
        w=SCENARIO_WORKSPACE,
    )
    dbus: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    cost: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    prices = fetch(con, "SELECT * FROM system.billing.list_prices WHERE currency_code = 'USD'")
    for row in rows:
        key = (row["workspace_id"], row["sku_name"], (day.date() - row["usage_date"]).days)
        if row["usage_unit"] == "DBU":
            dbus[key] += row["usage_quantity"]
        cost[key] += row["usage_quantity"] * price_at(prices, row)
    jobs, net = "PREMIUM_JOBS_COMPUTE", "PREMIUM_SERVERLESS_CONNECTIVITY"
    odd = ODD_VALUES["usage.sku_name"]
    w = SCENARIO_WORKSPACE
    assert dict(dbus) == {
        (w, jobs, 15): Decimal("10.5"), (w, jobs, 5): Decimal("10.5"), (w, jobs, 8): Decimal("6.5"),
        (w, jobs, 6): 0, (None, net, 2): Decimal("3.333333333333333333"),
        (None, net, 9): Decimal("1.5"), (w, odd, 7): 1,
    }  # fmt: skip
    assert cost[(w, jobs, 15)] == Decimal("1.575")
    assert cost[(w, jobs, 5)] == Decimal("2.1")
    assert cost[(w, jobs, 8)] == Decimal("1.3")
    assert cost[(w, "PREMIUM_DEFAULT_STORAGE_US_EAST_N_VIRGINIA", 4)] == Decimal("1.4880155")
    odd_tags = [r["custom_tags"] for r in rows if r["sku_name"] == odd]
    assert odd_tags == [{"team": ODD_VALUES["usage.custom_tags.team"], "project": "odd"}]


def price_at(prices: list[Row], row: Row) -> Decimal:
    for price in prices:
        same = (price["sku_name"], price["usage_unit"]) == (row["sku_name"], row["usage_unit"])
        end = price["price_end_time"] or dt.datetime.max
        if same and price["price_start_time"] <= row["usage_start_time"] < end:
            return Decimal(price["pricing"]["effective_list"]["default"])
    raise AssertionError(f"no price for {row['sku_name']!r}")


def peak(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """Most half-open intervals covering one instant (ends sort before starts at a tie)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = running = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def query_metrics(
    con: duckdb.DuckDBPyConnection, now: dt.datetime, workspace_id: str
) -> dict[str, Any]:
    rows = fetch(con, "SELECT * FROM system.query.history WHERE workspace_id = $w", w=workspace_id)
    counted = [
        r for r in rows
        if in_window(r["start_time"], now, HOUR)
        and (r["query_tags"] or {}).get("app") != "databricks-exporter"
    ]  # fmt: skip
    durations = sorted(
        r["total_duration_ms"] / 1000 for r in counted if r["total_duration_ms"] is not None
    )
    return {
        "total": len(counted),
        "errors": sum(r["execution_status"] == "FAILED" for r in counted),
        "durations": durations,
        "peak": peak([(r["start_time"], r["end_time"] or now) for r in counted]),
    }


def test_query_scenarios(world: tuple[duckdb.DuckDBPyConnection, dt.datetime]) -> None:
    con, now = world
    overlap = query_metrics(con, now, OVERLAP_WORKSPACE)
    assert overlap == {
        "total": 10, "errors": 2, "durations": [20, 200, 300, 300, 300, 300, 300, 600], "peak": 4,
    }  # fmt: skip
    assert quantile(overlap["durations"], 0.5) == 300
    assert quantile(overlap["durations"], 0.95) == 600
    assert query_metrics(con, now, SCENARIO_WORKSPACE) == {
        "total": 2, "errors": 0, "durations": [60], "peak": 1,
    }  # fmt: skip
