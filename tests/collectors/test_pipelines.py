"""Pipelines collector on hand-built update timelines: literal expectations."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.pipelines import PipelinesCollector
from databricks_exporter.settings import Windows
from reference import PIPELINE_UPDATES, Expected, fetch_tables, pipelines


def update_slice(
    key: tuple[str | None, str, str],
    kind: tuple[str | None, str | None],
    span: tuple[str, str],
    state: str | None = None,
) -> dict[str, object]:
    """A slice of update `key` = (workspace, pipeline, update), `kind` = (type, request)."""
    (workspace, pipeline, update), (update_type, request) = key, kind
    return {
        "workspace_id": workspace,
        "pipeline_id": pipeline,
        "update_id": update,
        "update_type": update_type,
        "request_id": request,
        "period_start_time": at(span[0]),
        "period_end_time": at(span[1]),
        "result_state": state,
    }


REFRESH_R1 = ("REFRESH", "r1")
REFRESH_R2 = ("REFRESH", "r2")
REFRESH_R4 = ("REFRESH", "r4")
REFRESH_NO_REQUEST = ("REFRESH", None)

SLICES = [
    # A 3-hour update in three slices: one update, 10800 s, freshness 3600 s.
    update_slice(("ws1", "p1", "u1"), REFRESH_R1, ("11-25 08:00", "11-25 09:00")),
    update_slice(("ws1", "p1", "u1"), REFRESH_R1, ("11-25 09:00", "11-25 10:00")),
    update_slice(("ws1", "p1", "u1"), REFRESH_R1, ("11-25 10:00", "11-25 11:00"), "COMPLETED"),
    # Request r2 restarted twice; its first try (u2) ended before the window but within the
    # scanned history, so both restarts count.
    update_slice(("ws1", "p1", "u2"), REFRESH_R2, ("11-24 08:00", "11-24 08:30"), "FAILED"),
    update_slice(("ws1", "p1", "u3"), REFRESH_R2, ("11-24 13:00", "11-24 13:20"), "FAILED"),
    update_slice(("ws1", "p1", "u4"), REFRESH_R2, ("11-24 14:00", "11-24 14:30"), "COMPLETED"),
    # Completed before the window: freshness only (FULL_REFRESH, 5 d 1.5 h ago).
    update_slice(
        ("ws1", "p1", "u5"), ("FULL_REFRESH", "r3"), ("11-20 10:00", "11-20 10:30"), "COMPLETED"
    ),
    # Request r4: canceled, restarted, still running (active, unfinished).
    update_slice(("ws1", "p2", "u6"), REFRESH_R4, ("11-25 09:00", "11-25 09:30"), "CANCELED"),
    update_slice(("ws1", "p2", "u7"), REFRESH_R4, ("11-25 10:00", "11-25 11:00")),
    update_slice(("ws1", "p2", "u7"), REFRESH_R4, ("11-25 11:00", "11-25 11:30")),
    # p2's latest completed REFRESH: 2 days minus 30 minutes ago.
    update_slice(
        ("ws1", "p2", "u8"), ("REFRESH", "r5"), ("11-23 12:00", "11-23 12:30"), "COMPLETED"
    ),
    # Updates without a request id are never restarts.
    update_slice(
        ("ws1", "p3", "u9"), REFRESH_NO_REQUEST, ("11-25 11:00", "11-25 11:10"), "COMPLETED"
    ),
    update_slice(
        ("ws1", "p3", "u10"), REFRESH_NO_REQUEST, ("11-25 11:20", "11-25 11:30"), "COMPLETED"
    ),
    # An unknown state is exported as it comes.
    update_slice(
        ("ws1", "p3", "u11"), ("REFRESH", "r6"), ("11-25 10:00", "11-25 10:10"), "SOME_NEW_STATE"
    ),
    # Completed beyond the 7-day horizon: ignored.
    update_slice(
        ("ws1", "p4", "u12"), ("REFRESH", "r7"), ("11-10 10:00", "11-10 10:30"), "COMPLETED"
    ),
    # No workspace, no type.
    update_slice((None, "p5", "u13"), (None, "r8"), ("11-25 10:00", "11-25 10:30"), "COMPLETED"),
    # ws2: an update crossing the window start (4200 s), a restart of a request tried 11-19.
    update_slice(
        ("ws2", "p6", "u14"), ("VALIDATE", "r9"), ("11-19 10:00", "11-19 10:10"), "FAILED"
    ),
    update_slice(("ws2", "p6", "u15"), ("VALIDATE", "r9"), ("11-24 11:00", "11-24 12:00")),
    update_slice(
        ("ws2", "p6", "u15"), ("VALIDATE", "r9"), ("11-24 12:00", "11-24 12:10"), "COMPLETED"
    ),
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, PIPELINE_UPDATES, SLICES)
    yield con
    con.close()


@pytest.fixture
def exported(con: duckdb.DuckDBPyConnection) -> Expected:
    return series(collect(con, PipelinesCollector(Windows())))


def test_updates_are_counted_once(exported: Expected) -> None:
    assert by_key(exported["databricks_pipeline_runs_total"], "workspace_id") == {
        ("ws1",): 8.0,
        ("unknown",): 1.0,
        ("ws2",): 1.0,
    }


def test_status_by_final_state(exported: Expected) -> None:
    assert by_key(exported["databricks_pipeline_run_status"], "workspace_id", "status") == {
        ("ws1", "COMPLETED"): 4.0,
        ("ws1", "FAILED"): 1.0,
        ("ws1", "CANCELED"): 1.0,
        ("ws1", "SOME_NEW_STATE"): 1.0,
        ("unknown", "COMPLETED"): 1.0,
        ("ws2", "COMPLETED"): 1.0,
    }


def test_durations_of_finished_updates(exported: Expected) -> None:
    # ws1: 600, 600, 600, 1200, 1800, 1800, 10800 -> sorted[ceil(p*7)-1]
    durations = exported["databricks_pipeline_run_duration_seconds"]
    assert by_key(durations, "workspace_id", "quantile") == {
        ("ws1", "0.5"): 1200.0,
        ("ws1", "0.95"): 10800.0,
        ("ws1", "0.99"): 10800.0,
        ("unknown", "0.5"): 1800.0,
        ("unknown", "0.95"): 1800.0,
        ("unknown", "0.99"): 1800.0,
        ("ws2", "0.5"): 4200.0,
        ("ws2", "0.95"): 4200.0,
        ("ws2", "0.99"): 4200.0,
    }


def test_restarts_per_request_with_zeros_kept(exported: Expected) -> None:
    assert by_key(exported["databricks_pipeline_retry_events_total"], "workspace_id") == {
        ("ws1",): 3.0,
        ("unknown",): 0.0,
        ("ws2",): 1.0,
    }


def test_freshness_averages_latest_completion_per_pipeline(exported: Expected) -> None:
    lags = exported["databricks_pipeline_freshness_lag_seconds"]
    assert by_key(lags, "workspace_id", "stage") == {
        ("ws1", "REFRESH"): (3600 + 171000 + 1800) / 3,
        ("ws1", "FULL_REFRESH"): 437400.0,
        ("unknown", "unknown"): 5400.0,
        ("ws2", "VALIDATE"): 85800.0,
    }


def test_reference_agrees(con: duckdb.DuckDBPyConnection, exported: Expected) -> None:
    assert pipelines(fetch_tables(con), NOW, Windows()) == exported


def test_short_horizon_narrows_history(con: duckdb.DuckDBPyConnection) -> None:
    # With a 1h horizon the scan is lookback + 24h: u14 (11-19) is no longer seen.
    windows = Windows(pipelines_freshness_horizon=3600)
    exported = series(collect(con, PipelinesCollector(windows)))
    assert (
        by_key(exported["databricks_pipeline_retry_events_total"], "workspace_id")[("ws2",)] == 0.0
    )
    assert by_key(
        exported["databricks_pipeline_freshness_lag_seconds"], "workspace_id", "stage"
    ) == {("ws1", "REFRESH"): (3600 + 1800) / 2}  # u1 ended exactly at the horizon: inside
    assert pipelines(fetch_tables(con), NOW, windows) == exported
