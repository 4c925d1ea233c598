"""The Grafana dashboards: well-formed, generated, and every panel's PromQL answered with data by
a real Prometheus that scraped the exporter on the simulated workspace."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from prometheus_fixture import PrometheusServer

from .bundle import DASHBOARD_FILES, MONITORING, Target, load, panels_of, recordings, targets
from .conftest import sample_names
from .live import Exporter
from .promql import counter_misuse, metric_names, percent_scaling, recorded_names

EXPECTED_FILES = ["jobs-pipelines.json", "overview-cost.json", "sql-warehouses-queries.json"]
#: What a Grafana "All" selection of a multi-value variable becomes (allValue).
ALL = ".*"
#: Grafana's interval macros, replaced by values that make sense for a 1 s scrape interval.
MACROS = {
    "${__rate_interval}": "15s",
    "$__rate_interval": "15s",
    "${__interval}": "15s",
    "$__interval": "15s",
    "${__range_s}": "3600",
    "$__range_s": "3600",
    "${__range}": "1h",
    "$__range": "1h",
}
SEED_FAMILIES = {
    "databricks_billing_dbus_total",
    "databricks_billing_cost_estimate_usd",
    "databricks_price_change_events",
    "databricks_job_runs_total",
    "databricks_job_run_status",
    "databricks_job_run_duration_seconds",
    "databricks_task_retries_total",
    "databricks_job_sla_miss_total",
    "databricks_pipeline_runs_total",
    "databricks_pipeline_run_status",
    "databricks_pipeline_run_duration_seconds",
    "databricks_pipeline_retry_events_total",
    "databricks_pipeline_freshness_lag_seconds",
    "databricks_queries_total",
    "databricks_query_errors_total",
    "databricks_query_duration_seconds",
    "databricks_queries_running",
    "databricks_up",
}
EXTRA_FAMILIES = {
    "databricks_billing_latest_usage_timestamp_seconds",
    "databricks_billing_daily_cost_usd",
    "databricks_exporter_build_info",
    "databricks_exporter_collector_last_refresh_success",
    "databricks_exporter_collector_last_success_timestamp_seconds",
    "databricks_exporter_collector_last_attempt_timestamp_seconds",
    "databricks_exporter_collector_refresh_duration_seconds",
    "databricks_exporter_collector_data_as_of_timestamp_seconds",
    "databricks_exporter_collector_stale",
    "databricks_exporter_collector_series",
    "databricks_exporter_collector_refresh_state",
    "databricks_exporter_statements_total",
    "databricks_exporter_table_readable",
    "databricks_exporter_idle_paused",
}
#: Families without a workspace_id label; every other family is filtered by the variable.
NO_WORKSPACE = re.compile(r"databricks_up|databricks_price_change_events|databricks_exporter_.+")


def substitute(expr: str) -> str:
    """The expression as Grafana would send it with every workspace selected."""
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    expr = expr.replace("${workspace_id}", ALL).replace("$workspace_id", ALL)
    assert "$" not in expr, f"unreplaced variable in {expr!r}"
    return expr


def variable_queries() -> list[str]:
    return sorted(
        {
            variable["query"]
            for path in DASHBOARD_FILES
            for variable in load(path)["templating"]["list"]
            if variable["type"] == "query"
        }
    )


def test_the_three_dashboards_exist_and_are_generated() -> None:
    assert [path.name for path in DASHBOARD_FILES] == EXPECTED_FILES
    result = subprocess.run(
        [sys.executable, str(MONITORING / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_dashboards_are_json_with_unique_ids() -> None:
    uids = []
    for path in DASHBOARD_FILES:
        dashboard = load(path)
        uids.append(dashboard["uid"])
        ids = [panel["id"] for panel in panels_of(dashboard)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        assert dashboard["schemaVersion"] == 39
    assert len(uids) == len(set(uids))


def test_data_source_and_workspace_are_template_variables() -> None:
    for path in DASHBOARD_FILES:
        dashboard = load(path)
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        workspace = variables["workspace_id"]
        assert (workspace["type"], workspace["includeAll"], workspace["multi"]) == (
            "query",
            True,
            True,
        )
        assert workspace["allValue"] == ALL
        for panel in panels_of(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_panels_have_titles_descriptions_and_queries() -> None:
    for path in DASHBOARD_FILES:
        for panel in panels_of(load(path)):
            if panel["type"] != "row":
                assert panel["title"]
                assert panel["description"], panel["title"]
                assert panel["targets"], panel["title"]


def test_every_workspace_metric_is_filtered_by_the_workspace_variable() -> None:
    for target in targets():
        for name in metric_names(target.expr):
            if NO_WORKSPACE.fullmatch(name):
                continue
            selectors = re.findall(rf"(?<![\w:]){name}(\{{[^}}]*\}})?", target.expr)
            assert all('workspace_id=~"$workspace_id"' in s for s in selectors), target.name


def test_windowed_values_are_never_rated_and_ratios_stay_ratios() -> None:
    for target in targets():
        assert counter_misuse(target.expr) == [], target.name
        assert not percent_scaling(target.expr), target.name


def test_recorded_series_on_panels_come_from_the_rule_file() -> None:
    defined = {rule["record"] for rule in recordings()}
    for target in targets():
        assert recorded_names(target.expr) <= defined, target.name


def test_every_metric_family_has_a_panel() -> None:
    shown = set().union(*(metric_names(target.expr) for target in targets()))
    assert sorted((SEED_FAMILIES | EXTRA_FAMILIES) - shown) == []


def test_every_family_the_exporter_serves_has_a_panel(exporter: Exporter) -> None:
    served = {n for n in sample_names(exporter.metrics()) if n.startswith("databricks_")}
    shown = set().union(*(metric_names(target.expr) for target in targets()))
    assert sorted(served - shown) == []


@pytest.mark.prometheus
@pytest.mark.parametrize("target", targets(), ids=lambda target: target.name)
def test_panel_query_returns_data(demo_prometheus: PrometheusServer, target: Target) -> None:
    assert demo_prometheus.query(substitute(target.expr)), f"no data for {target.expr!r}"


@pytest.mark.prometheus
@pytest.mark.parametrize("query", variable_queries())
def test_variable_query_returns_values(demo_prometheus: PrometheusServer, query: str) -> None:
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
    assert match, query
    selector, label = match.groups()
    rows = demo_prometheus.query(f"count by ({label}) ({selector})")
    assert [row["metric"][label] for row in rows if row["metric"].get(label)]
