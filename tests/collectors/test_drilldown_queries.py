"""Queries by warehouse on hand-built statements and warehouse snapshots: literal expectations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.names import NameDirectory, NamesCollector
from databricks_exporter.collectors.queries import QueriesCollector
from databricks_exporter.settings import Drilldown, Windows
from reference import QUERY_HISTORY, WAREHOUSES, Expected, fetch_tables, queries_by_warehouse

LABELS = ("workspace_id", "warehouse_id", "warehouse_name")
BASE = NOW.replace(tzinfo=None) - dt.timedelta(minutes=30)


def statement(
    warehouse: str | None, start: int, end: int | None, status: str = "FINISHED"
) -> dict[str, object]:
    """A statement of ws1 over [BASE + start, BASE + end) seconds."""
    finished = None if end is None else BASE + dt.timedelta(seconds=end)
    return {
        "workspace_id": "ws1",
        "statement_id": f"s-{warehouse}-{start}",
        "execution_status": status,
        "start_time": BASE + dt.timedelta(seconds=start),
        "end_time": finished,
        "total_duration_ms": None if end is None else (end - start) * 1000,
        "compute": {"type": "WAREHOUSE", "cluster_id": None, "warehouse_id": warehouse},
        "query_tags": None,
    }


STATEMENTS = [
    # w1: three statements, all overlapping: peak 3.
    statement("w1", 0, 100),
    statement("w1", 10, 110, "FAILED"),
    statement("w1", 20, 120),
    # w2 (two, overlapping), w3 (one, overlapping w2's second), serverless (alone).
    statement("w2", 200, 300),
    statement("w2", 250, 350),
    statement("w3", 320, 400, "FAILED"),
    statement(None, 500, 600),
]
WAREHOUSE_ROWS = [
    {
        "workspace_id": "ws1",
        "warehouse_id": "w1",
        "warehouse_name": "bi",
        "change_time": at("11-01 00:00"),
    },
    {
        "workspace_id": "ws1",
        "warehouse_id": "w1",
        "warehouse_name": "bi (serverless)",
        "change_time": at("11-10 00:00"),
    },
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, QUERY_HISTORY, STATEMENTS)
    insert(con, WAREHOUSES, WAREHOUSE_ROWS)
    yield con
    con.close()


def drilled(con: duckdb.DuckDBPyConnection, top_k: int) -> Expected:
    names = NameDirectory(first_load_wait=0)
    collect(con, NamesCollector("warehouses", Windows(), names))
    drilldown = Drilldown(queries_by_warehouse=True, top_k=top_k)
    return series(collect(con, QueriesCollector(Windows(), drilldown, names)))


def test_counts_per_warehouse_and_folded(con: duckdb.DuckDBPyConnection) -> None:
    exported = drilled(con, top_k=1)
    assert by_key(exported["databricks_queries_total"], *LABELS) == {
        ("ws1", "w1", "bi (serverless)"): 3.0,
        ("ws1", "other", "other"): 4.0,
    }
    assert by_key(exported["databricks_query_errors_total"], "warehouse_id") == {
        ("w1",): 1.0,
        ("other",): 1.0,
    }


def test_peak_of_the_folded_group_is_of_its_statements_together(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = drilled(con, top_k=1)
    # w2, w3 and serverless: peaks 2, 1 and 1 apart (a sum would say 4); together 2.
    assert by_key(exported["databricks_queries_running"], "warehouse_id") == {
        ("w1",): 3.0,
        ("other",): 2.0,
    }
    quantiles = by_key(exported["databricks_query_duration_seconds"], "warehouse_id", "quantile")
    assert quantiles[("other", "0.5")] == 100.0  # over [80, 100, 100, 100]


def test_statements_off_warehouses_and_nameless_warehouses(con: duckdb.DuckDBPyConnection) -> None:
    exported = drilled(con, top_k=10)
    assert by_key(exported["databricks_queries_total"], *LABELS) == {
        ("ws1", "w1", "bi (serverless)"): 3.0,
        ("ws1", "w2", "warehouse-w2"): 2.0,
        ("ws1", "w3", "warehouse-w3"): 1.0,
        ("ws1", "unknown", "unknown"): 1.0,
    }


def test_reference_agrees(con: duckdb.DuckDBPyConnection) -> None:
    for top_k in (1, 2, 10):
        drilldown = Drilldown(queries_by_warehouse=True, top_k=top_k)
        expected = queries_by_warehouse(fetch_tables(con), NOW, Windows(), drilldown)
        assert expected == drilled(con, top_k)
