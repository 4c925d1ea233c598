"""The bulk billing, price, query, name and warehouse tables of the small preset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from databricks_exporter.sim.generator import (
    DEFAULT_WAREHOUSE_ID,
    ODD_VALUES,
    create_database,
    generate,
)

from .test_generator import BULK, DAY, HOUR, NAIVE_NOW, NOW, SEED, Row, bulk_rows, fetch, scalar

_CORRECTION_FREE = {"record_id", "usage_quantity", "record_type", "ingestion_date"}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    database = create_database()
    generate(database, seed=SEED, scale="small", now=NOW)
    yield database
    database.close()


# -- billing ----------------------------------------------------------------------------------


def test_usage_rows_are_mostly_hourly_and_dated_by_their_start(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = bulk_rows(con, "system.billing.usage")
    hourly = [r for r in rows if r["usage_end_time"] - r["usage_start_time"] == HOUR]
    assert len(hourly) > 0.9 * len(rows)
    for row in rows:
        assert row["usage_start_time"].minute == row["usage_start_time"].second == 0
        assert row["usage_date"] == row["usage_start_time"].date()
        assert row["usage_end_time"] <= NAIVE_NOW
        assert row["cloud"] == "AWS"
    fractions = {abs(r["usage_quantity"]) % 1 for r in rows if r["usage_unit"] == "DBU"}
    assert len(fractions) > 0.9 * len([r for r in rows if r["usage_unit"] == "DBU"])
    assert len({r["sku_name"] for r in rows}) >= 10
    assert len({r["billing_origin_product"] for r in rows}) >= 6


def test_every_bulk_workspace_has_usage_on_every_day_of_the_window(
    con: duckdb.DuckDBPyConnection,
) -> None:
    days = defaultdict(set)
    for row in bulk_rows(con, "system.billing.usage"):
        days[row["workspace_id"]].add(row["usage_date"])
    for workspace_id in BULK:
        wanted = {(NAIVE_NOW - n * DAY).date() for n in range(36)}
        assert wanted <= days[workspace_id]


def test_retractions_negate_an_original_and_restatements_follow(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = bulk_rows(con, "system.billing.usage")

    def identity(row: Row) -> tuple[Any, ...]:
        return tuple(sorted((k, repr(v)) for k, v in row.items() if k not in _CORRECTION_FREE))

    by_type: dict[str, dict[tuple[Any, ...], list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_type[row["record_type"]][identity(row)].append(row)
    assert set(by_type) == {"ORIGINAL", "RETRACTION", "RESTATEMENT"}
    for key, (retraction,) in by_type["RETRACTION"].items():
        (original,) = by_type["ORIGINAL"][key]
        assert retraction["usage_quantity"] == -original["usage_quantity"]
    assert set(by_type["RESTATEMENT"]) < set(by_type["RETRACTION"]), "some retractions stand alone"
    assert len({r["record_id"] for r in rows}) == len(rows)


def test_units_tags_and_metadata(con: duckdb.DuckDBPyConnection) -> None:
    rows = bulk_rows(con, "system.billing.usage")
    assert {r["usage_unit"] for r in rows} == {"DBU", "GB_HOUR", "TOKEN"}
    tokens = [r["usage_quantity"] for r in rows if r["usage_unit"] == "TOKEN"]
    assert all(q == q.to_integral_value() for q in tokens)
    assert any(r["custom_tags"] is None for r in rows)
    assert any(r["custom_tags"] and {"team", "project"} <= set(r["custom_tags"]) for r in rows)
    by_product = defaultdict(list)
    for row in rows:
        by_product[row["billing_origin_product"]].append(row["usage_metadata"])
    assert all(m["job_id"] for m in by_product["JOBS"])
    assert all(m["warehouse_id"] for m in by_product["SQL"])
    assert all(m["dlt_pipeline_id"] for m in by_product["DLT"])
    assert any(r["identity_metadata"]["owned_by"] for r in rows)
    assert any(r["product_features"]["is_serverless"] for r in rows)
    assert scalar(con, "SELECT count(*) FROM system.billing.usage WHERE workspace_id IS NULL") > 0


def test_price_history_is_contiguous_and_changes_inside_the_windows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = fetch(con, "SELECT * FROM system.billing.list_prices ORDER BY price_start_time")
    series = defaultdict(list)
    for row in rows:
        series[(row["sku_name"], row["cloud"], row["currency_code"], row["usage_unit"])].append(row)
    changes_90d, changes_30d, new_in_30d = set(), set(), set()
    for key, prices in series.items():
        assert [p["price_end_time"] for p in prices[:-1]] == [
            p["price_start_time"] for p in prices[1:]
        ]
        assert prices[-1]["price_end_time"] is None
        for price in prices[1:]:
            if price["price_start_time"] >= NAIVE_NOW - 90 * DAY:
                changes_90d.add(key)
            if price["price_start_time"] >= NAIVE_NOW - 30 * DAY:
                changes_30d.add(key[0])
        if prices[0]["price_start_time"] >= NAIVE_NOW - 30 * DAY:
            new_in_30d.add(key[0])
    assert len(changes_90d) >= 5
    assert "PREMIUM_JOBS_COMPUTE" in changes_30d
    assert new_in_30d == {"PREMIUM_AI_FUNCTIONS_US_EAST_N_VIRGINIA"}
    assert {row["currency_code"] for row in rows} == {"USD", "EUR"}
    assert min(row["price_start_time"] for row in rows) <= NAIVE_NOW - 100 * DAY


def test_cost_at_the_historical_price_differs_from_todays(con: duckdb.DuckDBPyConnection) -> None:
    prices = fetch(con, "SELECT * FROM system.billing.list_prices WHERE currency_code = 'USD'")
    usage = [
        r
        for r in bulk_rows(con, "system.billing.usage")
        if r["usage_date"] >= (NAIVE_NOW - 30 * DAY).date()
    ]

    def price(row: Row, current: bool) -> Decimal:
        for p in prices:
            if (p["sku_name"], p["usage_unit"]) != (row["sku_name"], row["usage_unit"]):
                continue
            end = p["price_end_time"]
            if (
                (end is None)
                if current
                else p["price_start_time"] <= row["usage_start_time"] < (end or NAIVE_NOW + DAY)
            ):
                return Decimal(p["pricing"]["effective_list"]["default"])
        raise AssertionError(f"no price for {row['sku_name']}")

    historical = sum(r["usage_quantity"] * price(r, current=False) for r in usage)
    today = sum(r["usage_quantity"] * price(r, current=True) for r in usage)
    assert historical < today * Decimal("0.99")


# -- queries ----------------------------------------------------------------------------------


def peak(intervals: list[tuple[Any, Any]]) -> int:
    """Most half-open intervals covering one instant (ends sort before starts)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = running = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def test_statements_overlap_fail_run_and_carry_tags(con: duckdb.DuckDBPyConnection) -> None:
    rows = bulk_rows(con, "system.query.history")
    assert {r["execution_status"] for r in rows} == {"FINISHED", "FAILED", "CANCELED", "RUNNING"}
    for workspace_id in BULK:
        mine = [r for r in rows if r["workspace_id"] == workspace_id]
        last_hour = [r for r in mine if r["start_time"] >= NAIVE_NOW - HOUR]
        assert len(last_hour) >= 100
        assert peak([(r["start_time"], r["end_time"] or NAIVE_NOW) for r in last_hour]) > 2
        running = [r for r in mine if r["end_time"] is None]
        assert running
        assert all(r["execution_status"] == "RUNNING" for r in running)
        assert all(r["total_duration_ms"] is None for r in running)
        assert any(r["query_tags"] == {"app": "databricks-exporter"} for r in last_hour)
    assert any(r["execution_status"] == "CANCELED" and r["total_duration_ms"] is None for r in rows)
    tags = {tuple(sorted(r["query_tags"].items())) for r in rows if r["query_tags"]}
    assert (("app", "tableau"),) in tags
    assert any(r["query_tags"] is None for r in rows)


def test_statements_run_on_several_warehouses_and_serverless(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = fetch(
        con,
        "SELECT h.workspace_id, h.compute.type AS type, h.compute.warehouse_id AS wh, "
        "w.warehouse_type FROM system.query.history h LEFT JOIN (SELECT DISTINCT "
        "warehouse_id, warehouse_type FROM system.compute.warehouses) w "
        "ON w.warehouse_id = h.compute.warehouse_id WHERE h.workspace_id IN $bulk",
        bulk=list(BULK),
    )
    assert {r["warehouse_type"] for r in rows if r["type"] == "WAREHOUSE"} == {
        "PRO",
        "SERVERLESS",
        "CLASSIC",
    }
    assert all(r["wh"] is None for r in rows if r["type"] == "SERVERLESS_COMPUTE")
    assert any(r["type"] == "SERVERLESS_COMPUTE" for r in rows)
    assert DEFAULT_WAREHOUSE_ID in {r["wh"] for r in rows if r["workspace_id"] == BULK[0]}


# -- names and warehouses ---------------------------------------------------------------------


def latest(rows: list[Row], key: str) -> dict[tuple[str, str], list[Row]]:
    history = defaultdict(list)
    for row in rows:
        history[(row["workspace_id"], row[key])].append(row)
    for rows_of in history.values():
        rows_of.sort(key=lambda row: row["change_time"])
    return history


def test_job_names_are_renamed_deleted_or_missing(con: duckdb.DuckDBPyConnection) -> None:
    history = latest(bulk_rows(con, "system.lakeflow.jobs"), "job_id")
    renamed = [k for k, rows in history.items() if rows[-1]["name"] != rows[0]["name"]]
    deleted = [k for k, rows in history.items() if rows[-1]["delete_time"] is not None]
    assert {k[0] for k in renamed} == {k[0] for k in deleted} == set(BULK)
    assert all(
        rows[-1]["delete_time"] is None
        for rows in history.values()
        if rows not in [history[k] for k in deleted]
    )
    ran = {
        (r["workspace_id"], r["job_id"]) for r in bulk_rows(con, "system.lakeflow.job_run_timeline")
    }
    assert {k[0] for k in ran - set(history)} == set(BULK), "runs of jobs without a name row"
    assert {k[0] for k in set(history) - ran} == set(BULK), "paused jobs never ran"


def test_pipeline_names_are_renamed_and_deleted(con: duckdb.DuckDBPyConnection) -> None:
    history = latest(bulk_rows(con, "system.lakeflow.pipelines"), "pipeline_id")
    assert {k[0] for k, rows in history.items() if rows[-1]["name"] != rows[0]["name"]} == set(BULK)
    assert {k[0] for k, rows in history.items() if rows[-1]["delete_time"]} == set(BULK)
    updated = {
        (r["workspace_id"], r["pipeline_id"])
        for r in bulk_rows(con, "system.lakeflow.pipeline_update_timeline")
    }
    assert updated <= set(history)


def test_warehouses_snapshots_and_events(con: duckdb.DuckDBPyConnection) -> None:
    history = defaultdict(list)
    for row in fetch(con, "SELECT * FROM system.compute.warehouses ORDER BY change_time"):
        history[row["warehouse_id"]].append(row)
    assert DEFAULT_WAREHOUSE_ID in history
    assert history[DEFAULT_WAREHOUSE_ID][-1]["workspace_id"] == BULK[0]
    assert all(len(rows) >= 2 for rows in history.values() if rows[0]["workspace_id"] in BULK)
    assert any(rows[-1]["delete_time"] is not None for rows in history.values())
    assert {rows[-1]["warehouse_type"] for rows in history.values()} == {
        "PRO",
        "SERVERLESS",
        "CLASSIC",
    }
    events = fetch(con, "SELECT * FROM system.compute.warehouse_events")
    assert {e["event_type"] for e in events} == {
        "STARTING", "RUNNING", "SCALED_UP", "SCALED_DOWN", "STOPPING", "STOPPED",
    }  # fmt: skip
    assert max(e["event_time"] for e in events) <= NAIVE_NOW


def test_odd_values_are_where_documented(con: duckdb.DuckDBPyConnection) -> None:
    for where, value in ODD_VALUES.items():
        assert '"' in value, where
        assert "\\" in value, where
        assert "\n" in value, where
        assert not value.isascii(), where
        table, column, *field = where.split(".")
        schema = {"usage": "billing", "jobs": "lakeflow", "pipelines": "lakeflow"}.get(
            table, "lakeflow"
        )
        target = f"{column}['{field[0]}']" if field else column
        found = scalar(
            con, f"SELECT count(*) FROM system.{schema}.{table} WHERE {target} = $v", v=value
        )
        assert found > 0, where


def test_ids_are_unique_where_databricks_makes_them_unique(con: duckdb.DuckDBPyConnection) -> None:
    for sql in (
        "SELECT count(*) = count(DISTINCT statement_id) FROM system.query.history",
        "SELECT count(*) = count(DISTINCT record_id) FROM system.billing.usage",
        "SELECT count(DISTINCT (workspace_id, job_id, run_id)) = count(DISTINCT run_id) "
        "FROM system.lakeflow.job_run_timeline",
        "SELECT count(DISTINCT (workspace_id, job_run_id, run_id)) = count(DISTINCT run_id) "
        "FROM system.lakeflow.job_task_run_timeline",
        "SELECT count(DISTINCT (pipeline_id, request_id, update_id)) = count(DISTINCT update_id) "
        "FROM system.lakeflow.pipeline_update_timeline",
    ):
        assert scalar(con, sql), sql
