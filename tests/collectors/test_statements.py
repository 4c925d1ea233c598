"""Every collector's statement: Databricks SQL that parses, translates and keeps the contract."""

from __future__ import annotations

import dataclasses

import pytest
import sqlglot
from sqlglot import exp

from collectors.fixtures import NOW
from collectors.sqlrun import create_database, known_tables, run
from databricks_exporter.collectors import build_collectors
from databricks_exporter.collectors.base import NOW_ROW, Collector, window_text
from databricks_exporter.settings import Settings, Windows, default_collectors
from databricks_exporter.sim.translate import translate
from databricks_exporter.warehouse.result import Parameter

SEED_METRICS = {
    "billing": {
        ("databricks_billing_dbus_total", "counter", ("workspace_id", "sku_name", "usage_date")),
        (
            "databricks_billing_cost_estimate_usd",
            "gauge",
            ("workspace_id", "sku_name", "usage_date"),
        ),
        ("databricks_price_change_events", "gauge", ("sku_name",)),
        # beyond the seed, for alerts (PromQL cannot do date arithmetic on usage_date)
        ("databricks_billing_daily_cost_usd", "gauge", ("workspace_id", "days_ago")),
        ("databricks_billing_latest_usage_timestamp_seconds", "gauge", ("workspace_id",)),
    },
    "jobs": {
        ("databricks_job_runs_total", "counter", ("workspace_id",)),
        ("databricks_job_run_status", "gauge", ("workspace_id", "status")),
        ("databricks_job_run_duration_seconds", "gauge", ("workspace_id", "quantile")),
        ("databricks_task_retries_total", "counter", ("workspace_id",)),
        ("databricks_job_sla_miss_total", "counter", ("workspace_id",)),
    },
    "pipelines": {
        ("databricks_pipeline_runs_total", "counter", ("workspace_id",)),
        ("databricks_pipeline_run_status", "gauge", ("workspace_id", "status")),
        ("databricks_pipeline_run_duration_seconds", "gauge", ("workspace_id", "quantile")),
        ("databricks_pipeline_retry_events_total", "counter", ("workspace_id",)),
        ("databricks_pipeline_freshness_lag_seconds", "gauge", ("workspace_id", "stage")),
    },
    "queries": {
        ("databricks_queries_total", "counter", ("workspace_id",)),
        ("databricks_query_errors_total", "counter", ("workspace_id",)),
        ("databricks_query_duration_seconds", "gauge", ("workspace_id", "quantile")),
        ("databricks_queries_running", "gauge", ("workspace_id",)),
    },
}

COLLECTORS = build_collectors(Settings(workspace=None))


def by_name(name: str) -> Collector:
    return next(c for c in COLLECTORS if c.name == name)


def test_all_collectors_in_order() -> None:
    assert [c.name for c in COLLECTORS] == ["billing", "jobs", "pipelines", "queries"]


def test_disabled_collectors_are_left_out() -> None:
    collectors = tuple(
        dataclasses.replace(c, enabled=c.name in ("queries", "jobs")) for c in default_collectors()
    )
    settings = Settings(workspace=None, collectors=collectors)
    assert [c.name for c in build_collectors(settings)] == ["jobs", "queries"]


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.name)
def test_names_labels_and_types_are_the_seeds(collector: Collector) -> None:
    specs = {(m.name, m.type, m.labels) for m in collector.metrics}
    assert specs == SEED_METRICS[collector.name]


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.name)
def test_statement_parses_as_databricks_sql(collector: Collector) -> None:
    trees = sqlglot.parse(collector.statement().sql, read="databricks")
    assert len(trees) == 1
    assert trees[0] is not None


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.name)
def test_each_table_is_read_once(collector: Collector) -> None:
    tree = sqlglot.parse_one(collector.statement().sql, read="databricks")
    read = [
        f"{t.catalog}.{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.catalog == "system"
    ]
    assert sorted(read) == sorted(collector.tables)


def test_concurrency_needs_no_join() -> None:
    tree = sqlglot.parse_one(by_name("queries").statement().sql, read="databricks")
    assert list(tree.find_all(exp.Join)) == []


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.name)
def test_parameters_are_exactly_those_sent(collector: Collector) -> None:
    statement = collector.statement()
    translated = translate(statement.sql, now=NOW, known_tables=frozenset(collector.tables))
    assert translated.parameters == frozenset(statement.parameters)
    assert translated.tables == frozenset(collector.tables)


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.name)
def test_result_columns_follow_the_row_contract(collector: Collector) -> None:
    result = run(create_database(), collector.statement(), NOW)
    labels = sorted({label for m in collector.metrics for label in m.labels})
    names = [c.name for c in result.columns]
    assert names[0] == "metric"
    assert names[-1] == "value"
    assert sorted(names[1:-1]) == labels
    assert {c.name: c.type_name for c in result.columns}["value"] == "DOUBLE"
    assert result.rows == ((NOW_ROW, *[None] * len(labels), NOW.timestamp()),)


def test_parameters_carry_the_configured_windows() -> None:
    windows = Windows(jobs_lookback=7200, run_history=3600, sla_threshold=90.5)
    settings = Settings(workspace=None, windows=windows)
    params = {k: (p.value, p.type) for k, p in by_name_in(settings, "jobs").items()}
    assert params == {
        "lookback_seconds": (7200, "BIGINT"),
        "run_history_seconds": (3600, "BIGINT"),
        "sla_threshold_seconds": (90.5, "DOUBLE"),
    }


def by_name_in(settings: Settings, name: str) -> dict[str, Parameter]:
    collector = next(c for c in build_collectors(settings) if c.name == name)
    return dict(collector.statement().parameters)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (86400, "24h"),
        (3600, "1h"),
        (30 * 86400, "30d"),
        (5400, "1h30m"),
        (90, "1m30s"),
        (1.5, "1.5s"),
    ],
)
def test_window_text(seconds: float, text: str) -> None:
    assert window_text(seconds) == text


def test_help_texts_state_the_windows() -> None:
    windows = Windows(jobs_lookback=6 * 3600, queries_lookback=900, billing_lookback=7 * 86400)
    helps = {
        m.name: m.help
        for c in build_collectors(Settings(workspace=None, windows=windows))
        for m in c.metrics
    }
    assert "last 6h" in helps["databricks_job_runs_total"]
    assert "do not rate()" in helps["databricks_job_runs_total"]
    assert "last 15m" in helps["databricks_queries_total"]
    assert "last 7d" in helps["databricks_billing_dbus_total"]
    assert "last 90d" in helps["databricks_price_change_events"]
    assert "3600s" in helps["databricks_job_sla_miss_total"]
    assert all("\n" not in text for text in helps.values())


def test_known_tables_cover_every_collector() -> None:
    tables = known_tables(create_database())
    assert {t for c in COLLECTORS for t in c.tables} <= tables
