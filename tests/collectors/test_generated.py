"""The collectors on the simulator's small preset: every series against the Python reference,
and the generator's named scenarios against the values it documents.

Skipped while the data generator (`databricks_exporter.sim.generator`) is not importable.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from collectors.fixtures import by_key, series
from collectors.sqlrun import run
from collectors.test_drilldown import collect_all
from collectors.test_random import assert_same, one_row_per_series
from databricks_exporter.collectors import build_collectors
from databricks_exporter.settings import Drilldown, Settings, TagLabel
from databricks_exporter.sim.data.catalog import ODD_JOB_NAME, ODD_TAG_VALUE
from reference import Expected, Tables, expected_folded, expected_metrics, fetch_tables

#: A frozen clock off the hour: the scenarios sit in minutes from the hour (A = 12:00).
NOW = dt.datetime(2026, 11, 25, 12, 34, 56, tzinfo=dt.UTC)
PAST_HOUR = 34 * 60 + 56.0
SEED = 7
SCENARIO = "9000000000000001"
OVERLAP = "9000000000000002"
ODD_RESULT_STATE = 'WEIRD "state"\\\nünïcødé ✓'
ODD_UPDATE_TYPE = 'REFRESH "odd"\\ ünïcødé ✓\nline 2'
ODD_SKU = 'PREMIUM_"ODD"\\SKU ünïcødé ✓\nLINE_2'


@pytest.fixture(scope="module")
def generated() -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        generator: Any = importlib.import_module("databricks_exporter.sim.generator")
    except (ImportError, SyntaxError) as error:  # being written concurrently
        pytest.skip(f"simulator data generator not usable yet: {error!r}")
    con = generator.create_database()
    generator.generate(con, seed=SEED, scale="small", now=NOW)
    yield con
    con.close()


@pytest.fixture(scope="module")
def exported(generated: duckdb.DuckDBPyConnection) -> Expected:
    actual: Expected = {}
    for collector in build_collectors(Settings(workspace=None)):
        result = run(generated, collector.statement(), NOW)
        one_row_per_series(collector, result.rows)
        actual |= series(collector.build(result))
    return actual


def of(exported: Expected, metric: str, workspace: str, label: str) -> dict[str, float]:
    """One workspace's series of `metric`, keyed by the value of its other label."""
    keyed = by_key(exported[metric], "workspace_id", label)
    return {key[1]: value for key, value in keyed.items() if key[0] == workspace}


def test_every_series_matches_the_reference(
    generated: duckdb.DuckDBPyConnection, exported: Expected
) -> None:
    expected = expected_metrics(fetch_tables(generated), NOW, Settings(workspace=None).windows)
    assert_same(exported, expected)
    assert [name for name, values in expected.items() if not values] == []


def test_job_scenarios(exported: Expected) -> None:
    assert by_key(exported["databricks_job_runs_total"], "workspace_id")[(SCENARIO,)] == 8.0
    assert of(exported, "databricks_job_run_status", SCENARIO, "status") == {
        "SUCCEEDED": 4.0,
        "FAILED": 1.0,
        "TIMED_OUT": 1.0,
        ODD_RESULT_STATE: 1.0,
    }
    assert of(exported, "databricks_job_run_duration_seconds", SCENARIO, "quantile") == {
        "0.5": 9000.0,
        "0.95": 153900.0,
        "0.99": 153900.0,
    }
    assert by_key(exported["databricks_job_sla_miss_total"], "workspace_id")[(SCENARIO,)] == 4.0
    assert by_key(exported["databricks_task_retries_total"], "workspace_id")[(SCENARIO,)] == 3.0


def test_pipeline_scenarios(exported: Expected) -> None:
    assert by_key(exported["databricks_pipeline_runs_total"], "workspace_id")[(SCENARIO,)] == 7.0
    assert of(exported, "databricks_pipeline_run_status", SCENARIO, "status") == {
        "FAILED": 2.0,
        "COMPLETED": 3.0,
        "CANCELED": 1.0,
    }
    assert of(exported, "databricks_pipeline_run_duration_seconds", SCENARIO, "quantile") == {
        "0.5": 1200.0,
        "0.95": 6300.0,
        "0.99": 6300.0,
    }
    retries = by_key(exported["databricks_pipeline_retry_events_total"], "workspace_id")
    assert retries[(SCENARIO,)] == 2.0
    assert of(exported, "databricks_pipeline_freshness_lag_seconds", SCENARIO, "stage") == {
        "REFRESH": (380 + 1450) / 2 * 60 + PAST_HOUR,
        "FULL_REFRESH": 2880 * 60 + PAST_HOUR,
        "VALIDATE": 190 * 60 + PAST_HOUR,
        ODD_UPDATE_TYPE: 370 * 60 + PAST_HOUR,
    }


def test_query_scenarios(exported: Expected) -> None:
    for workspace, total, errors, durations, peak in (
        (OVERLAP, 10.0, 2.0, (300.0, 600.0, 600.0), 4.0),
        (SCENARIO, 2.0, 0.0, (60.0, 60.0, 60.0), 1.0),
    ):
        assert by_key(exported["databricks_queries_total"], "workspace_id")[(workspace,)] == total
        errors_by_workspace = by_key(exported["databricks_query_errors_total"], "workspace_id")
        assert errors_by_workspace[(workspace,)] == errors
        quantiles = of(exported, "databricks_query_duration_seconds", workspace, "quantile")
        assert quantiles == dict(zip(("0.5", "0.95", "0.99"), durations, strict=True))
        assert by_key(exported["databricks_queries_running"], "workspace_id")[(workspace,)] == peak


def test_billing_scenarios(exported: Expected) -> None:
    key = ("workspace_id", "sku_name", "usage_date")
    dbus = by_key(exported["databricks_billing_dbus_total"], *key)
    cost = by_key(exported["databricks_billing_cost_estimate_usd"], *key)
    jobs = "PREMIUM_JOBS_COMPUTE"
    connectivity = "PREMIUM_SERVERLESS_CONNECTIVITY"
    storage = "PREMIUM_DEFAULT_STORAGE_US_EAST_N_VIRGINIA"
    expected = {
        # (workspace, sku, date): (DBUs or None when not DBUs, cost)
        (SCENARIO, jobs, "2026-11-10"): (10.5, 1.575),  # price change: 0.15 before D-10d
        (SCENARIO, jobs, "2026-11-20"): (10.5, 2.1),  # ... and 0.20 after
        (SCENARIO, jobs, "2026-11-17"): (6.5, 1.3),  # retraction + restatement
        (SCENARIO, jobs, "2026-11-19"): (0.0, 0.0),  # lone retraction: a zero series
        ("unknown", connectivity, "2026-11-23"): (3.333333333333333333, 0.3333333333333333),
        ("unknown", connectivity, "2026-11-16"): (1.5, 0.15),
        (SCENARIO, storage, "2026-11-21"): (None, 48000.5 * 0.000031),
        (SCENARIO, ODD_SKU, "2026-11-18"): (1.0, 1.0),
    }
    for series_key, (dbu, usd) in expected.items():
        assert dbus.get(series_key) == dbu, series_key
        assert math.isclose(cost[series_key], usd, rel_tol=1e-12), series_key


@pytest.mark.parametrize("name", ["billing", "jobs", "pipelines", "queries"])
def test_results_are_the_same_on_every_run(generated: duckdb.DuckDBPyConnection, name: str) -> None:
    # Golden files need it: no sum of DOUBLEs whose order the engine picks per run.
    collector = next(c for c in build_collectors(Settings(workspace=None)) if c.name == name)
    runs = [sorted(map(repr, run(generated, collector.statement(), NOW).rows)) for _ in range(4)]
    assert all(rows == runs[0] for rows in runs[1:])


# ----- drill-down on the generated data -------------------------------------------------------

TEAM = TagLabel("team", "team")
DRILLDOWNS = {
    "jobs.by-job": Drilldown(jobs_by_job=True, top_k=5),
    "jobs.by-task": Drilldown(jobs_by_job=True, jobs_by_task=True, top_k=5),
    "pipelines.by-pipeline": Drilldown(pipelines_by_pipeline=True, top_k=3),
    "queries.by-warehouse": Drilldown(queries_by_warehouse=True, top_k=2),
    "billing.by-product": Drilldown(billing_by_product=True),
    "billing.tag-label": Drilldown(billing_tags=(TEAM, TagLabel("project", "project")), top_k=4),
    "billing.by-job": Drilldown(billing_by_job=True, top_k=5),
    "all, K=20": Drilldown(
        jobs_by_job=True,
        jobs_by_task=True,
        pipelines_by_pipeline=True,
        queries_by_warehouse=True,
        billing_by_job=True,
        billing_by_product=True,
        billing_tags=(TEAM,),
    ),
}


@pytest.fixture(scope="module")
def tables(generated: duckdb.DuckDBPyConnection) -> Tables:
    return fetch_tables(generated)


@pytest.mark.parametrize("name", DRILLDOWNS)
def test_each_drilldown_matches_the_reference(
    generated: duckdb.DuckDBPyConnection, tables: Tables, name: str
) -> None:
    drilldown = DRILLDOWNS[name]
    settings = Settings(workspace=None, drilldown=drilldown)
    actual, folded = collect_all(generated, settings, NOW)
    assert_same(actual, expected_metrics(tables, NOW, settings.windows, drilldown))
    assert folded == expected_folded(tables, NOW, settings.windows, drilldown)


def test_drilldown_scenarios(generated: duckdb.DuckDBPyConnection) -> None:
    drilldown = Drilldown(jobs_by_job=True, billing_by_job=True, billing_tags=(TEAM,))
    actual, _ = collect_all(generated, Settings(workspace=None, drilldown=drilldown), NOW)
    runs = by_key(actual["databricks_job_runs_total"], "workspace_id", "job_id", "job_name")
    assert {k[1:]: v for k, v in runs.items() if k[0] == SCENARIO} == {
        ("9001", "scenario_three_hours_v2"): 1.0,  # renamed
        ("9002", "scenario_repaired"): 1.0,
        ("9003", "scenario_task_retries"): 1.0,
        ("9004", "scenario_in_progress"): 1.0,
        ("9005", "scenario_before_window"): 1.0,
        ("9006", ODD_JOB_NAME): 1.0,
        ("9008", "scenario_short_crossing"): 1.0,
        ("9009", "job-9009"): 1.0,  # no lakeflow.jobs row
    }
    cost = by_key(actual["databricks_billing_job_cost_usd"], "workspace_id", "job_id")
    # 10.5 DBU at 0.15 and 10.5 at 0.20, the correction netting to 6.5 at 0.20, the lone
    # retraction to 0: every PREMIUM_JOBS_COMPUTE row of the scenarios is job 9001's.
    assert math.isclose(cost[(SCENARIO, "9001")], 1.575 + 2.1 + 1.3, rel_tol=1e-12)
    key = ("workspace_id", "sku_name", "usage_date", "team")
    dbus = by_key(actual["databricks_billing_dbus_total"], *key)
    assert dbus[(SCENARIO, ODD_SKU, "2026-11-18", ODD_TAG_VALUE)] == 1.0
    connectivity = "PREMIUM_SERVERLESS_CONNECTIVITY"
    assert dbus[("unknown", connectivity, "2026-11-16", "unknown")] == 1.5  # no tags at all
