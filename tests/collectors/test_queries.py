"""Queries collector on a hand-built query history: literal expectations."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.queries import QueriesCollector
from databricks_exporter.settings import Windows
from reference import QUERY_HISTORY, Expected, fetch_tables, queries

OWN = {"app": "databricks-exporter"}


def statement(
    workspace: str | None,
    span: tuple[str, str | None],
    status: str = "FINISHED",
    duration_ms: int | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, object]:
    start, end = span
    return {
        "workspace_id": workspace,
        "execution_status": status,
        "start_time": at(start),
        "end_time": None if end is None else at(end),
        "total_duration_ms": duration_ms,
        "query_tags": tags,
    }


HISTORY = [
    # ws1: starting exactly at the window start is inside; no tags at all is not ours.
    statement("ws1", ("11-25 11:00", "11-25 11:10"), duration_ms=600_000),
    statement("ws1", ("11-25 11:05", "11-25 11:20"), "FAILED", 900_000, {"team": "x"}),
    # Starts when the first ends: they never overlap.
    statement("ws1", ("11-25 11:10", "11-25 11:15"), duration_ms=300_000),
    # Still running (no end, no duration): runs until now. Peak 3 at 11:12.
    statement("ws1", ("11-25 11:12", None), "RUNNING"),
    # The exporter's own statement is not counted anywhere.
    statement("ws1", ("11-25 11:06", "11-25 11:30"), duration_ms=1_440_000, tags=OWN),
    statement("ws1", ("11-25 11:50", "11-25 11:55"), duration_ms=300_000, tags={"app": "other"}),
    # Started before the window.
    statement("ws1", ("11-25 10:59:59", "11-25 11:30"), duration_ms=1_801_000),
    # An empty interval: counted, duration 0, never executing.
    statement("ws1", ("11-25 11:30", "11-25 11:30"), "CANCELED", 0),
    # ws2: touching intervals only: peak 1, and 0 errors.
    statement("ws2", ("11-25 11:00", "11-25 11:30"), duration_ms=1_800_000),
    statement("ws2", ("11-25 11:30", "11-25 11:45"), duration_ms=900_000),
    statement("ws2", ("11-25 11:45", "11-25 12:00"), duration_ms=900_000),
    # No workspace id; sub-second start, no end.
    statement(None, ("2026-11-25 11:59:59.500", None), duration_ms=1234),
    # ws3: only the exporter's statements: no series.
    statement("ws3", ("11-25 11:10", "11-25 11:20"), duration_ms=1000, tags=OWN),
    # ws4: an end before the start (corrupt) is an empty interval; no durations at all.
    statement("ws4", ("11-25 11:20", "11-25 11:10"), "FAILED"),
    statement("ws4", ("11-25 11:00", "11-25 11:30")),
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, QUERY_HISTORY, HISTORY)
    yield con
    con.close()


@pytest.fixture
def exported(con: duckdb.DuckDBPyConnection) -> Expected:
    return series(collect(con, QueriesCollector(Windows())))


def test_statements_started_in_the_window_not_ours(exported: Expected) -> None:
    assert by_key(exported["databricks_queries_total"], "workspace_id") == {
        ("ws1",): 6.0,
        ("ws2",): 3.0,
        ("unknown",): 1.0,
        ("ws4",): 2.0,
    }


def test_errors_with_zeros_kept(exported: Expected) -> None:
    assert by_key(exported["databricks_query_errors_total"], "workspace_id") == {
        ("ws1",): 1.0,
        ("ws2",): 0.0,
        ("unknown",): 0.0,
        ("ws4",): 1.0,
    }


def test_duration_quantiles_over_statements_with_a_duration(exported: Expected) -> None:
    # ws1: 0, 300, 300, 600, 900 s; ws2: 900, 900, 1800 s.
    durations = exported["databricks_query_duration_seconds"]
    assert by_key(durations, "workspace_id", "quantile") == {
        ("ws1", "0.5"): 300.0,
        ("ws1", "0.95"): 900.0,
        ("ws1", "0.99"): 900.0,
        ("ws2", "0.5"): 900.0,
        ("ws2", "0.95"): 1800.0,
        ("ws2", "0.99"): 1800.0,
        ("unknown", "0.5"): 1.234,
        ("unknown", "0.95"): 1.234,
        ("unknown", "0.99"): 1.234,
    }


def test_peak_concurrency_is_a_sweep_over_half_open_intervals(exported: Expected) -> None:
    assert by_key(exported["databricks_queries_running"], "workspace_id") == {
        ("ws1",): 3.0,
        ("ws2",): 1.0,
        ("unknown",): 1.0,
        ("ws4",): 1.0,
    }


def test_many_overlaps_at_one_instant() -> None:
    con = create_database()
    # Ten statements all executing at 11:30, ten more touching them at either end.
    rows = [statement("ws", ("11-25 11:00", "11-25 11:30:01")) for _ in range(10)]
    rows += [statement("ws", ("11-25 11:30:01", "11-25 11:40")) for _ in range(10)]
    rows += [statement("ws", ("11-25 10:50", "11-25 11:00")) for _ in range(10)]
    insert(con, QUERY_HISTORY, rows)
    exported = series(collect(con, QueriesCollector(Windows())))
    assert by_key(exported["databricks_queries_running"], "workspace_id") == {("ws",): 10.0}


def test_reference_agrees(con: duckdb.DuckDBPyConnection, exported: Expected) -> None:
    assert queries(fetch_tables(con), NOW, Windows()) == exported
