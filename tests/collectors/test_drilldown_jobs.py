"""Jobs by job (and task) on hand-built timelines and name rows: literal expectations."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, hours_before, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.jobs import JobsCollector
from databricks_exporter.collectors.names import NameDirectory, NamesCollector
from databricks_exporter.settings import Drilldown, Windows
from reference import JOB_NAMES, JOB_RUNS, TASK_RUNS, Expected, fetch_tables, jobs_by_job

LABELS = ("workspace_id", "job_id", "job_name")


def run(
    workspace: str, job: str | None, run_id: str, seconds: int, state: str
) -> dict[str, object]:
    """A one-slice run that ended an hour before now."""
    return {
        "workspace_id": workspace,
        "job_id": job,
        "run_id": run_id,
        "period_start_time": hours_before(1 + seconds / 3600),
        "period_end_time": hours_before(1),
        "result_state": state,
    }


def task(job: str, job_run: str, key: str, run_id: str) -> dict[str, object]:
    return {
        "workspace_id": "ws1",
        "job_id": job,
        "job_run_id": job_run,
        "task_key": key,
        "run_id": run_id,
        "period_start_time": hours_before(3),
        "period_end_time": hours_before(2),
    }


RUNS = [
    # ws1: j1 has the most runs, then j2; j3, j4 and the NULL job one each.
    run("ws1", "j1", "r1", 600, "SUCCEEDED"),
    run("ws1", "j1", "r2", 1200, "FAILED"),
    run("ws1", "j1", "r3", 7200, "SUCCEEDED"),  # an SLA miss
    run("ws1", "j2", "r4", 60, "SUCCEEDED"),
    run("ws1", "j2", "r5", 120, "SUCCEEDED"),
    run("ws1", "j3", "r6", 300, "FAILED"),
    run("ws1", "j4", "r7", 3000, "SUCCEEDED"),
    run("ws1", None, "r8", 900, "SUCCEEDED"),
    # ws2: the same job id is another job.
    run("ws2", "j1", "r9", 60, "SUCCEEDED"),
]
TASKS = [
    task("j1", "r1", "extract", "t1"),
    task("j1", "r1", "extract", "t2"),  # 1 retry
    task("j1", "r1", "load", "t3"),
    task("j3", "r6", "b", "t5"),
    task("j3", "r6", "b", "t6"),
    task("j3", "r6", "b", "t7"),  # 2 retries
    task("j5", "rx", "a", "t8"),  # j5: task runs only, no job run in the window
    task("j5", "rx", "a", "t9"),  # 1 retry
]
NAMES = [
    {
        "workspace_id": "ws1",
        "job_id": "j1",
        "name": "nightly etl",
        "change_time": at("11-01 00:00"),
    },
    {
        "workspace_id": "ws1",
        "job_id": "j1",
        "name": "nightly etl v2",
        "change_time": at("11-20 00:00"),
    },
    {"workspace_id": "ws2", "job_id": "j1", "name": "ws2 job", "change_time": at("11-01 00:00")},
    # j2 has no name row.
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, JOB_RUNS, RUNS)
    insert(con, TASK_RUNS, TASKS)
    insert(con, JOB_NAMES, NAMES)
    yield con
    con.close()


def drilled(con: duckdb.DuckDBPyConnection, drilldown: Drilldown) -> Expected:
    """Names read by the names collector, then the jobs collector with `drilldown`."""
    names = NameDirectory(first_load_wait=0)
    collect(con, NamesCollector("jobs", Windows(), names))
    return series(collect(con, JobsCollector(Windows(), drilldown, names)))


def test_top_k_jobs_keep_their_id_and_latest_name_the_rest_fold(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = drilled(con, Drilldown(jobs_by_job=True, top_k=2))
    assert by_key(exported["databricks_job_runs_total"], *LABELS) == {
        ("ws1", "j1", "nightly etl v2"): 3.0,
        ("ws1", "j2", "job-j2"): 2.0,
        ("ws1", "other", "other"): 3.0,  # j3, j4 and the NULL job
        ("ws2", "j1", "ws2 job"): 1.0,
    }
    assert by_key(exported["databricks_job_sla_miss_total"], *LABELS) == {
        ("ws1", "j1", "nightly etl v2"): 1.0,
        ("ws1", "j2", "job-j2"): 0.0,
        ("ws1", "other", "other"): 0.0,
        ("ws2", "j1", "ws2 job"): 0.0,
    }


def test_status_per_job(con: duckdb.DuckDBPyConnection) -> None:
    exported = drilled(con, Drilldown(jobs_by_job=True, top_k=2))
    status = by_key(exported["databricks_job_run_status"], "workspace_id", "job_id", "status")
    assert status == {
        ("ws1", "j1", "SUCCEEDED"): 2.0,
        ("ws1", "j1", "FAILED"): 1.0,
        ("ws1", "j2", "SUCCEEDED"): 2.0,
        ("ws1", "other", "SUCCEEDED"): 2.0,
        ("ws1", "other", "FAILED"): 1.0,
        ("ws2", "j1", "SUCCEEDED"): 1.0,
    }


def test_quantiles_of_the_folded_group_are_recomputed_not_averaged(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = drilled(con, Drilldown(jobs_by_job=True, top_k=2))
    quantiles = by_key(
        exported["databricks_job_run_duration_seconds"], "workspace_id", "job_id", "quantile"
    )
    # other = [300, 900, 3000]: p50 is 900 (the mean of the three would be 1400)
    assert {k[2]: v for k, v in quantiles.items() if k[:2] == ("ws1", "other")} == {
        "0.5": 900.0,
        "0.95": 3000.0,
        "0.99": 3000.0,
    }
    assert {k[2]: v for k, v in quantiles.items() if k[:2] == ("ws1", "j1")} == {
        "0.5": 1200.0,
        "0.95": 7200.0,
        "0.99": 7200.0,
    }


def test_ties_go_to_the_smaller_job_id(con: duckdb.DuckDBPyConnection) -> None:
    # j3, j4 and the NULL job have one run each: K = 3 keeps j3 (smaller than j4; NULL last).
    exported = drilled(con, Drilldown(jobs_by_job=True, top_k=3))
    runs = by_key(exported["databricks_job_runs_total"], "workspace_id", "job_id")
    assert {k[1]: v for k, v in runs.items() if k[0] == "ws1"} == {
        "j1": 3.0,
        "j2": 2.0,
        "j3": 1.0,
        "other": 2.0,
    }
    everything = drilled(con, Drilldown(jobs_by_job=True, top_k=10))
    names = by_key(everything["databricks_job_runs_total"], *LABELS)
    assert ("ws1", "unknown", "unknown") in names, "a NULL job id is unknown, and so is its name"


def test_task_retries_per_job_and_task_key(con: duckdb.DuckDBPyConnection) -> None:
    by_job = drilled(con, Drilldown(jobs_by_job=True, top_k=2))
    assert by_key(by_job["databricks_task_retries_total"], *LABELS) == {
        ("ws1", "j1", "nightly etl v2"): 1.0,
        ("ws1", "other", "other"): 3.0,  # j3's 2 and j5's 1 (j5 has no run, only task runs)
    }
    by_task = drilled(con, Drilldown(jobs_by_job=True, jobs_by_task=True, top_k=2))
    assert by_key(by_task["databricks_task_retries_total"], "job_id", "task_key") == {
        ("j1", "extract"): 1.0,
        ("j1", "load"): 0.0,
        ("other", "other"): 3.0,  # task keys of folded jobs are not kept
    }


def test_folded_counts(con: duckdb.DuckDBPyConnection) -> None:
    names = NameDirectory(first_load_wait=0)
    data = collect(con, JobsCollector(Windows(), Drilldown(jobs_by_job=True, top_k=2), names))
    assert {(f.workspace_id, f.label): f.entities for f in data.folded or ()} == {
        ("ws1", "job_id"): 4,  # j3, j4, NULL, j5
        ("ws2", "job_id"): 0,
    }


def test_names_before_the_first_names_refresh_are_unknown(con: duckdb.DuckDBPyConnection) -> None:
    names = NameDirectory(first_load_wait=0)
    exported = series(collect(con, JobsCollector(Windows(), Drilldown(jobs_by_job=True), names)))
    assert {dict(k)["job_name"] for k in exported["databricks_job_runs_total"]} == {"unknown"}


def test_reference_agrees(con: duckdb.DuckDBPyConnection) -> None:
    for drilldown in (
        Drilldown(jobs_by_job=True, top_k=2),
        Drilldown(jobs_by_job=True, jobs_by_task=True, top_k=1),
    ):
        assert jobs_by_job(fetch_tables(con), NOW, Windows(), drilldown) == drilled(con, drilldown)


def test_help_states_the_fold() -> None:
    collector = JobsCollector(Windows(), Drilldown(jobs_by_job=True, jobs_by_task=True, top_k=7))
    specs = {spec.name: spec for spec in collector.metrics}
    assert specs["databricks_job_runs_total"].labels == ("workspace_id", "job_id", "job_name")
    assert specs["databricks_task_retries_total"].labels == (
        "workspace_id",
        "job_id",
        "job_name",
        "task_key",
    )
    assert specs["databricks_job_run_status"].labels == (
        "workspace_id",
        "job_id",
        "job_name",
        "status",
    )
    assert specs["databricks_job_sla_miss_total"].help.endswith(
        "per job: the 7 jobs of each workspace with the most runs active in the window, "
        'the others together as job_id="other"'
    )
