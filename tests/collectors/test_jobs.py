"""Jobs collector on hand-built timelines: runs, not slices; literal expectations."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.jobs import JobsCollector
from databricks_exporter.settings import Windows
from reference import JOB_RUNS, TASK_RUNS, Expected, fetch_tables, jobs, labels

ODD = 'ws "quoted" \\ back\nnew ü'


def run_slice(
    key: tuple[str | None, str, str], start: str, end: str, state: str | None = None
) -> dict[str, object]:
    workspace, job, run = key
    return {
        "workspace_id": workspace,
        "job_id": job,
        "run_id": run,
        "period_start_time": at(start),
        "period_end_time": at(end),
        "result_state": state,
    }


def task_slice(
    key: tuple[str | None, str, str | None], run: str, start: str, end: str
) -> dict[str, object]:
    workspace, job_run, task = key
    return {
        "workspace_id": workspace,
        "job_id": "j",
        "job_run_id": job_run,
        "task_key": task,
        "run_id": run,
        "period_start_time": at(start),
        "period_end_time": at(end),
    }


RUNS = [
    # A 3-hour run in three hourly slices: one run, 10800 s, an SLA miss.
    run_slice(("ws1", "j1", "101"), "11-25 08:00", "11-25 09:00"),
    run_slice(("ws1", "j1", "101"), "11-25 09:00", "11-25 10:00"),
    run_slice(("ws1", "j1", "101"), "11-25 10:00", "11-25 11:00", "SUCCEEDED"),
    # Failed, then repaired under the same run_id: final state is the latest terminal row's.
    run_slice(("ws1", "j1", "102"), "11-25 09:00", "11-25 09:10", "FAILED"),
    run_slice(("ws1", "j1", "102"), "11-25 09:30", "11-25 09:40", "SUCCEEDED"),
    # Started 2 h before the window opened (11-24 12:00), ended inside it: 9000 s.
    run_slice(("ws1", "j2", "201"), "11-24 10:00", "11-24 11:00"),
    run_slice(("ws1", "j2", "201"), "11-24 11:00", "11-24 12:00"),
    run_slice(("ws1", "j2", "201"), "11-24 12:00", "11-24 12:30", "FAILED"),
    # Still running: active (counted) but not finished.
    run_slice(("ws1", "j2", "202"), "11-25 11:00", "11-25 12:00"),
    # Ended before the window: not counted at all.
    run_slice(("ws1", "j2", "203"), "11-24 10:00", "11-24 11:00", "SUCCEEDED"),
    # A result state nobody told us about is exported as it comes.
    run_slice(("ws1", "j3", "301"), "11-25 10:00", "11-25 10:05", "WEIRD_NEW_STATE"),
    # Ends exactly when the window opens: inside (the window is closed).
    run_slice(("ws1", "j3", "302"), "11-24 11:50", "11-24 12:00", "SUCCEEDED"),
    # A slice "ending" after now is ignored, so this run has not happened yet.
    run_slice(("ws1", "j3", "303"), "11-25 11:00", "11-25 12:30", "SUCCEEDED"),
    # No workspace id: exported as `unknown`.
    run_slice((None, "j9", "901"), "11-25 10:00", "11-25 10:10", "FAILED"),
    # ws2: exactly at the SLA (not a miss) and a running one.
    run_slice(("ws2", "j5", "501"), "11-25 10:00", "11-25 11:00", "SUCCEEDED"),
    run_slice(("ws2", "j5", "502"), "11-25 11:30", "11-25 11:45"),
    # Label values with quotes, a backslash, a newline and unicode pass through unchanged.
    run_slice((ODD, "j7", "701"), "11-25 10:00", "11-25 10:01", 'STATE "x"\n'),
]

TASKS = [
    # Task run t1 is two slices (not a retry); t2 retries it: 1 retry.
    task_slice(("ws1", "101", "extract"), "t1", "11-25 08:00", "11-25 09:00"),
    task_slice(("ws1", "101", "extract"), "t1", "11-25 09:00", "11-25 09:30"),
    task_slice(("ws1", "101", "extract"), "t2", "11-25 09:30", "11-25 10:00"),
    # Three slices of one task run: no retry.
    task_slice(("ws1", "101", "load"), "t3", "11-25 08:00", "11-25 09:00"),
    task_slice(("ws1", "101", "load"), "t3", "11-25 09:00", "11-25 10:00"),
    task_slice(("ws1", "101", "load"), "t3", "11-25 10:00", "11-25 10:30"),
    # Three attempts of one task: 2 retries.
    task_slice(("ws1", "102", "extract"), "t4", "11-25 09:00", "11-25 09:05"),
    task_slice(("ws1", "102", "extract"), "t5", "11-25 09:05", "11-25 09:10"),
    task_slice(("ws1", "102", "extract"), "t6", "11-25 09:30", "11-25 09:40"),
    # Without a task key, task runs cannot be grouped: no retry.
    task_slice(("ws1", "102", None), "t10", "11-25 09:00", "11-25 09:05"),
    task_slice(("ws1", "102", None), "t11", "11-25 09:00", "11-25 09:05"),
    # A retry outside the window does not count (only task runs active in it do).
    task_slice(("ws1", "203", "x"), "t7", "11-24 10:00", "11-24 10:30"),
    task_slice(("ws1", "203", "x"), "t8", "11-24 11:00", "11-24 11:30"),
    task_slice(("ws1", "203", "x"), "t9", "11-24 11:30", "11-24 12:10"),
    # ws2: one task run, no retry: 0 is exported.
    task_slice(("ws2", "501", "only"), "t20", "11-25 10:00", "11-25 11:00"),
    # ws3: task runs only before the window: no series.
    task_slice(("ws3", "900", "x"), "t30", "11-23 10:00", "11-23 11:00"),
    task_slice(("ws3", "900", "x"), "t31", "11-23 11:00", "11-23 12:00"),
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, JOB_RUNS, RUNS)
    insert(con, TASK_RUNS, TASKS)
    yield con
    con.close()


@pytest.fixture
def exported(con: duckdb.DuckDBPyConnection) -> Expected:
    return series(collect(con, JobsCollector(Windows())))


def test_runs_are_counted_once_per_run_active_in_the_window(exported: Expected) -> None:
    assert by_key(exported["databricks_job_runs_total"], "workspace_id") == {
        ("ws1",): 6.0,
        ("unknown",): 1.0,
        ("ws2",): 2.0,
        (ODD,): 1.0,
    }


def test_status_is_the_final_state_of_finished_runs(exported: Expected) -> None:
    assert by_key(exported["databricks_job_run_status"], "workspace_id", "status") == {
        ("ws1", "SUCCEEDED"): 3.0,
        ("ws1", "FAILED"): 1.0,
        ("ws1", "WEIRD_NEW_STATE"): 1.0,
        ("unknown", "FAILED"): 1.0,
        ("ws2", "SUCCEEDED"): 1.0,
        (ODD, 'STATE "x"\n'): 1.0,
    }


def test_durations_span_all_slices_including_history(exported: Expected) -> None:
    # ws1 finished durations: 300, 600, 2400, 9000, 10800 -> sorted[ceil(p*5)-1]
    assert by_key(exported["databricks_job_run_duration_seconds"], "workspace_id", "quantile") == {
        ("ws1", "0.5"): 2400.0,
        ("ws1", "0.95"): 10800.0,
        ("ws1", "0.99"): 10800.0,
        ("unknown", "0.5"): 600.0,
        ("unknown", "0.95"): 600.0,
        ("unknown", "0.99"): 600.0,
        ("ws2", "0.5"): 3600.0,
        ("ws2", "0.95"): 3600.0,
        ("ws2", "0.99"): 3600.0,
        (ODD, "0.5"): 60.0,
        (ODD, "0.95"): 60.0,
        (ODD, "0.99"): 60.0,
    }


def test_sla_misses_with_zeros_kept(exported: Expected) -> None:
    # 10800 s and 9000 s exceed 3600 s; exactly 3600 s does not.
    assert by_key(exported["databricks_job_sla_miss_total"], "workspace_id") == {
        ("ws1",): 2.0,
        ("unknown",): 0.0,
        ("ws2",): 0.0,
        (ODD,): 0.0,
    }


def test_task_retries_count_task_runs_not_slices(exported: Expected) -> None:
    assert by_key(exported["databricks_task_retries_total"], "workspace_id") == {
        ("ws1",): 3.0,
        ("ws2",): 0.0,
    }


def test_without_history_a_long_run_is_truncated(con: duckdb.DuckDBPyConnection) -> None:
    # Run 201 (11-24 10:00 -> 12:30) seen without history keeps only its slices ending at or
    # after the window start (11-24 12:00): 11:00 -> 12:30 = 5400 s, under a 6000 s SLA.
    full = series(collect(con, JobsCollector(Windows(sla_threshold=6000))))
    cut = series(collect(con, JobsCollector(Windows(sla_threshold=6000, run_history=0))))
    assert by_key(full["databricks_job_sla_miss_total"], "workspace_id")[("ws1",)] == 2.0
    assert by_key(cut["databricks_job_sla_miss_total"], "workspace_id")[("ws1",)] == 1.0


def test_sla_threshold_is_a_parameter(con: duckdb.DuckDBPyConnection) -> None:
    exported = series(collect(con, JobsCollector(Windows(sla_threshold=500))))
    assert by_key(exported["databricks_job_sla_miss_total"], "workspace_id") == {
        ("ws1",): 4.0,
        ("unknown",): 1.0,
        ("ws2",): 1.0,
        (ODD,): 0.0,
    }


def test_reference_agrees(con: duckdb.DuckDBPyConnection, exported: Expected) -> None:
    assert jobs(fetch_tables(con), NOW, Windows()) == exported


def test_empty_tables_give_only_empty_families(con: duckdb.DuckDBPyConnection) -> None:
    empty = create_database()
    data = collect(empty, JobsCollector(Windows()))
    assert data.series == 0
    assert data.as_of == NOW.timestamp()
    assert series(data) == jobs(fetch_tables(empty), NOW, Windows())


def test_labels_helper_maps_null_to_unknown() -> None:
    assert labels(workspace_id=None, status="x") == {("workspace_id", "unknown"), ("status", "x")}
