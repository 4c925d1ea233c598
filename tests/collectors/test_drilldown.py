"""Drill-downs on seeded random tables against the Python reference; off means the seed's SQL;
the fold into `other` preserves every sum."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable

import duckdb
import pytest

from collectors.fixtures import NOW, series
from collectors.sqlrun import run
from collectors.test_random import assert_same, database, one_row_per_series
from databricks_exporter.collectors import build_collectors
from databricks_exporter.collectors.base import Collector, Folded, load_sql
from databricks_exporter.collectors.names import NameDirectory
from databricks_exporter.settings import Drilldown, Settings, TagLabel, Windows
from reference import Expected, expected_folded, expected_metrics

ALL = Drilldown(
    jobs_by_job=True,
    jobs_by_task=True,
    pipelines_by_pipeline=True,
    queries_by_warehouse=True,
    billing_by_job=True,
    billing_by_product=True,
    billing_tags=(TagLabel("team", "team"), TagLabel("cost_project", "project")),
)
DRILLDOWNS = {
    "all-k1": Drilldown(**{**ALL.__dict__, "top_k": 1}),
    "all-k2": Drilldown(**{**ALL.__dict__, "top_k": 2}),
    "all-k20": ALL,
    "jobs-only": Drilldown(jobs_by_job=True, top_k=2),
    "billing-job-only": Drilldown(billing_by_job=True, top_k=2),
    "billing-product-only": Drilldown(billing_by_product=True),
    "one-tag": Drilldown(billing_tags=(TagLabel("team", "team"),), top_k=2),
}
SHORT = Windows(
    jobs_lookback=6 * 3600, pipelines_lookback=3600, queries_lookback=600, run_history=0
)
#: Sums over entities of these metrics equal the seed's workspace value (counts: exactly).
ADDITIVE = (
    "databricks_job_runs_total",
    "databricks_job_run_status",
    "databricks_job_sla_miss_total",
    "databricks_task_retries_total",
    "databricks_pipeline_runs_total",
    "databricks_pipeline_run_status",
    "databricks_pipeline_retry_events_total",
    "databricks_queries_total",
    "databricks_query_errors_total",
    "databricks_billing_dbus_total",
    "databricks_billing_cost_estimate_usd",
)
DRILLED_LABELS = {
    "job_id", "job_name", "task_key", "pipeline_id", "pipeline_name", "warehouse_id",
    "warehouse_name", "billing_origin_product", "team", "cost_project",
}  # fmt: skip


def collect_all(
    con: duckdb.DuckDBPyConnection, settings: Settings, now: dt.datetime = NOW
) -> tuple[Expected, dict[tuple[str, str, str], int]]:
    """Every collector's series (names runners first) and the folded counts they report."""
    names = NameDirectory(first_load_wait=0)
    collectors = build_collectors(settings, names)
    actual: Expected = {}
    folded: dict[tuple[str, str, str], int] = {}
    for collector in sorted(collectors, key=lambda c: not c.name.endswith("_names")):
        result = run(con, collector.statement(), now)
        one_row_per_series(collector, result.rows)
        data = collector.build(result)
        actual |= series(data)
        folded |= {(collector.name, f.workspace_id, f.label): f.entities for f in data.folded or ()}
    return actual, folded


CASES = [
    *((seed, name, windows) for seed in range(4) for name in DRILLDOWNS if name.startswith("all")
      for windows in ("defaults", "short")),
    *((seed, name, "defaults") for seed in range(2) for name in DRILLDOWNS
      if not name.startswith("all")),
]  # fmt: skip


@pytest.mark.parametrize(("seed", "name", "windows_name"), CASES)
def test_drilldown_matches_reference(seed: int, name: str, windows_name: str) -> None:
    windows = SHORT if windows_name == "short" else Windows()
    con, tables = database(seed)
    drilldown = DRILLDOWNS[name]
    settings = Settings(workspace=None, windows=windows, drilldown=drilldown)
    actual, folded = collect_all(con, settings)
    assert_same(actual, expected_metrics(tables, NOW, windows, drilldown))
    assert folded == expected_folded(tables, NOW, windows, drilldown)


def _summed(
    values: dict[frozenset[tuple[str, str]], float],
) -> dict[frozenset[tuple[str, str]], float]:
    """Series summed over the drill-down labels (back to the seed's labels)."""
    sums: dict[frozenset[tuple[str, str]], float] = defaultdict(float)
    for key, value in values.items():
        sums[frozenset((k, v) for k, v in key if k not in DRILLED_LABELS)] += value
    return dict(sums)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("top_k", [1, 3])
def test_the_fold_preserves_every_sum(seed: int, top_k: int) -> None:
    con, _ = database(seed)
    plain, _ = collect_all(con, Settings(workspace=None))
    drilled, folded = collect_all(
        con, Settings(workspace=None, drilldown=Drilldown(**{**ALL.__dict__, "top_k": top_k}))
    )
    assert any(count > 0 for count in folded.values()), "the data should need folding"
    for metric in ADDITIVE:
        summed = _summed(drilled[metric])
        assert summed.keys() == plain[metric].keys(), metric
        for key, value in plain[metric].items():
            assert math.isclose(summed[key], value, rel_tol=1e-12, abs_tol=1e-12), (metric, key)


def _statement_files(collectors: Iterable[Collector]) -> dict[str, str]:
    package = "databricks_exporter.collectors"
    files = {}
    for collector in collectors:
        for name in ("billing", "jobs", "pipelines", "queries"):
            if collector.statement().sql == load_sql(package, f"{name}.sql"):
                files[collector.name] = f"{name}.sql"
    return files


def test_off_sends_exactly_the_seed_statements() -> None:
    collectors = build_collectors(Settings(workspace=None))
    assert [c.name for c in collectors] == ["billing", "jobs", "pipelines", "queries"]
    assert _statement_files(collectors) == {
        "billing": "billing.sql",
        "jobs": "jobs.sql",
        "pipelines": "pipelines.sql",
        "queries": "queries.sql",
    }


def test_each_option_changes_only_its_collector() -> None:
    options = {
        "jobs": Drilldown(jobs_by_job=True),
        "pipelines": Drilldown(pipelines_by_pipeline=True),
        "queries": Drilldown(queries_by_warehouse=True),
        "billing": Drilldown(billing_by_product=True),
    }
    for changed, drilldown in options.items():
        collectors = build_collectors(Settings(workspace=None, drilldown=drilldown))
        seed_sql = _statement_files(collectors)
        assert changed not in seed_sql
        assert set(seed_sql) == {"billing", "jobs", "pipelines", "queries"} - {changed}


def test_names_runners_only_for_the_names_shown() -> None:
    def runners(drilldown: Drilldown) -> list[str]:
        collectors = build_collectors(Settings(workspace=None, drilldown=drilldown))
        return [c.name for c in collectors if c.name.endswith("_names")]

    assert runners(Drilldown()) == []
    assert runners(Drilldown(billing_by_product=True, billing_tags=ALL.billing_tags)) == []
    assert runners(Drilldown(billing_by_job=True)) == ["job_names"]
    assert runners(ALL) == ["job_names", "pipeline_names", "warehouse_names"]
    settings = Settings(workspace=None, drilldown=ALL)
    assert settings.collector("warehouse_names").interval == 3600
    assert settings.collector("job_names").max_age == 3 * 3600


def test_off_reports_no_folded_counts_and_on_reports_zeros() -> None:
    con, _ = database(0)
    names = NameDirectory(first_load_wait=0)
    plain = build_collectors(Settings(workspace=None), names)
    assert all(c.build(run(con, c.statement(), NOW)).folded is None for c in plain)
    drilled = build_collectors(Settings(workspace=None, drilldown=ALL), names)
    jobs = next(c for c in drilled if c.name == "jobs")
    folded = jobs.build(run(con, jobs.statement(), NOW)).folded
    assert folded is not None
    assert {f.label for f in folded} == {"job_id"}
    assert all(isinstance(f, Folded) and f.entities == 0 for f in folded), "K=20 > 5 jobs"
