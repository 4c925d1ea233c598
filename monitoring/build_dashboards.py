"""Write the Grafana dashboards in monitoring/dashboards/ from the panel lists below.

    python monitoring/build_dashboards.py           # rewrite the JSON files
    python monitoring/build_dashboards.py --check   # exit 1 if a file is out of date

The JSON files are what operators import; this script keeps ids, layout, data source references
and template variables consistent. Change a panel here, run the script, commit both.

Every expression is instant-query friendly and is evaluated by tests/ops/test_dashboards.py
against a real Prometheus that scraped the exporter on the simulated workspace.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
WS = 'workspace_id=~"$workspace_id"'
JOB_FAILED = 'status=~"FAILED|TIMED_OUT|ERROR"'
PIPELINE_FAILED = 'status="FAILED"'
WIDTH = 24

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    kind: str  # stat, timeseries, bargauge, barchart, table
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    width: int = 6
    height: int = 6
    thresholds: tuple[tuple[str, float | None], ...] = (("green", None),)
    mappings: tuple[tuple[str, str, str], ...] = ()  # (value, text, color)
    options: Json = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    title: str


def q(expr: str, legend: str = "") -> Query:
    """A range query (time series panels)."""
    return Query(expr, legend)


def i(expr: str, legend: str = "") -> Query:
    """An instant query (stat, bar gauge, bar chart and table panels)."""
    return Query(expr, legend, instant=True)


def failure_ratio(metric: str, failed: str, by: str = "") -> str:
    """Failed / finished, 0 (not empty) where a group had finished runs and no failure."""
    grouping = f" by ({by}) " if by else ""
    finished = f"sum{grouping}({metric}{{{WS}}})"
    failures = f"sum{grouping}({metric}{{{WS},{failed}}})"
    return f"({failures} or {finished} * 0) / {finished}"


UP_DOWN = (("0", "DOWN", "red"), ("1", "UP", "green"))
OK_FAILED = (("0", "FAILED", "red"), ("1", "OK", "green"))
YES_NO_BAD = (("0", "no", "green"), ("1", "yes", "red"))
READABLE = (("0", "not readable", "red"), ("1", "readable", "green"))
ANY_IS_BAD = (("green", None), ("red", 1.0))


def ratio_thresholds(warn: float) -> tuple[tuple[str, float | None], ...]:
    return (("green", None), ("orange", warn), ("red", 2 * warn))


WINDOW_NOTE = (
    " Windowed value computed by the warehouse at each refresh (not a counter): the chart "
    "shows how that window's value moved over time."
)


def health_panels() -> list[Panel | Row]:
    return [
        Row("Exporter health"),
        Panel(
            "stat",
            "Workspace reachable",
            "databricks_up: 1 when the latest contact with the workspace succeeded (token "
            "obtained, statement run).",
            (i("databricks_up", "{{instance}}"),),
            width=4,
            height=4,
            mappings=UP_DOWN,
        ),
        Panel(
            "stat",
            "Collectors failing",
            "Collectors whose last refresh failed.",
            (i("count(databricks_exporter_collector_last_refresh_success == 0) or vector(0)"),),
            width=4,
            height=4,
            thresholds=ANY_IS_BAD,
        ),
        Panel(
            "stat",
            "Collectors stale",
            "Collectors whose series were withdrawn for exceeding their maximum age.",
            (i("sum(databricks_exporter_collector_stale)"),),
            width=4,
            height=4,
            thresholds=ANY_IS_BAD,
        ),
        Panel(
            "stat",
            "Refreshes paused (idle)",
            "1 while refreshes are paused because nobody scraped recently (--idle-pause), "
            "which lets the SQL warehouse auto-stop.",
            (i("databricks_exporter_idle_paused", "{{instance}}"),),
            width=4,
            height=4,
            mappings=(("0", "no", "green"), ("1", "paused", "blue")),
        ),
        Panel(
            "stat",
            "Exporter version",
            "databricks_exporter_build_info.",
            (i("databricks_exporter_build_info", "{{version}} (Python {{python_version}})"),),
            width=8,
            height=4,
            options={"textMode": "name", "colorMode": "none"},
        ),
        Panel(
            "stat",
            "Last refresh",
            "Result of each collector's last refresh attempt.",
            (i("databricks_exporter_collector_last_refresh_success", "{{collector}}"),),
            width=8,
            mappings=OK_FAILED,
        ),
        Panel(
            "stat",
            "Refresh state",
            "What each collector is doing now: idle, pending (waiting for the warehouse, e.g. "
            "a cold start), running, paused.",
            (i("databricks_exporter_collector_refresh_state == 1", "{{collector}}: {{state}}"),),
            width=8,
            options={"textMode": "name", "colorMode": "none"},
        ),
        Panel(
            "stat",
            "System tables readable",
            "Whether the service principal could read each system table at the last attempt.",
            (i("databricks_exporter_table_readable", "{{table}}"),),
            width=8,
            mappings=READABLE,
        ),
        Panel(
            "timeseries",
            "Time since last refresh",
            "Seconds since each collector's last successful refresh and last attempt.",
            (
                q(
                    "time() - databricks_exporter_collector_last_success_timestamp_seconds",
                    "{{collector}} success",
                ),
                q(
                    "time() - databricks_exporter_collector_last_attempt_timestamp_seconds",
                    "{{collector}} attempt",
                ),
            ),
            unit="s",
            width=8,
        ),
        Panel(
            "timeseries",
            "Age of the served data",
            "Seconds between now and the warehouse clock when the served data was computed.",
            (
                q(
                    "time() - databricks_exporter_collector_data_as_of_timestamp_seconds",
                    "{{collector}}",
                ),
            ),
            unit="s",
            width=8,
        ),
        Panel(
            "timeseries",
            "Series served",
            "Series each collector serves, and metrics withheld from its last refresh because "
            "their values were unusable.",
            (
                q("databricks_exporter_collector_series", "{{collector}}"),
                q("databricks_exporter_collector_metrics_withheld", "{{collector}} withheld"),
            ),
            width=8,
        ),
    ]


def summary_panels() -> list[Panel | Row]:
    return [
        Row("Workloads"),
        Panel(
            "stat",
            "Job runs",
            "Distinct job runs active in the jobs window (--jobs-lookback, 24h by default).",
            (i(f"sum(databricks_job_runs_total{{{WS}}})"),),
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "Job failure ratio",
            "Finished runs that failed, timed out or errored, over all finished runs, in the "
            "jobs window.",
            (i(failure_ratio("databricks_job_run_status", JOB_FAILED)),),
            unit="percentunit",
            width=4,
            height=4,
            thresholds=ratio_thresholds(0.1),
        ),
        Panel(
            "stat",
            "Pipeline updates",
            "Distinct pipeline updates active in the pipelines window (24h by default).",
            (i(f"sum(databricks_pipeline_runs_total{{{WS}}})"),),
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "Pipeline failure ratio",
            "Finished updates that failed, over all finished updates, in the pipelines window.",
            (i(failure_ratio("databricks_pipeline_run_status", PIPELINE_FAILED)),),
            unit="percentunit",
            width=4,
            height=4,
            thresholds=ratio_thresholds(0.1),
        ),
        Panel(
            "stat",
            "SQL statements",
            "Statements started in the queries window (--queries-lookback, 1h by default).",
            (i(f"sum(databricks_queries_total{{{WS}}})"),),
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "SQL error ratio",
            "Failed statements over statements started, in the queries window.",
            (
                i(
                    f"sum(databricks_query_errors_total{{{WS}}}) "
                    f"/ sum(databricks_queries_total{{{WS}}})"
                ),
            ),
            unit="percentunit",
            width=4,
            height=4,
            thresholds=ratio_thresholds(0.05),
        ),
    ]


def cost_panels() -> list[Panel | Row]:
    daily = f"databricks_billing_daily_cost_usd{{{WS}"
    return [
        Row("Cost (list prices, USD)"),
        Panel(
            "stat",
            "Cost yesterday (UTC)",
            "Estimated cost of the last complete UTC day at list prices. Billing rows can "
            "arrive up to about 12 h late, so the latest day may still grow.",
            (i(f'sum({daily},days_ago="1"}})'),),
            unit="currencyUSD",
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "Yesterday vs the day before",
            "Relative change of yesterday's cost compared with the day before.",
            (i(f'sum({daily},days_ago="1"}}) / sum({daily},days_ago="2"}}) - 1'),),
            unit="percentunit",
            width=4,
            height=4,
            thresholds=(("green", None), ("orange", 0.25), ("red", 0.5)),
        ),
        Panel(
            "stat",
            "Cost, billing window",
            "Estimated cost over the billing window (--billing-lookback, 30d by default).",
            (i(f"sum(databricks_billing_cost_estimate_usd{{{WS}}})"),),
            unit="currencyUSD",
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "DBUs, billing window",
            "DBUs consumed over the billing window, corrections netted out.",
            (i(f"sum(databricks_billing_dbus_total{{{WS}}})"),),
            width=4,
            height=4,
        ),
        Panel(
            "stat",
            "Billing data delay",
            "Time since the end of the newest billing usage row, per workspace. Rows usually "
            "land within 12 hours.",
            (
                i(
                    "time() - max by (workspace_id) "
                    f"(databricks_billing_latest_usage_timestamp_seconds{{{WS}}})",
                    "{{workspace_id}}",
                ),
            ),
            unit="s",
            width=8,
            height=4,
            thresholds=(("green", None), ("orange", 12 * 3600.0), ("red", 36 * 3600.0)),
        ),
        Panel(
            "barchart",
            "Cost per day",
            "Estimated cost per UTC usage date over the billing window.",
            (i(f"sum by (usage_date) (databricks_billing_cost_estimate_usd{{{WS}}})"),),
            unit="currencyUSD",
            width=16,
            height=8,
            options={"xField": "usage_date", "table": True},
        ),
        Panel(
            "bargauge",
            "Cost of the last 7 complete days",
            "Estimated cost of each complete UTC day, 1 = yesterday.",
            (i(f"sum by (days_ago) ({daily}}})", "{{days_ago}} day(s) ago"),),
            unit="currencyUSD",
            width=8,
            height=8,
        ),
        Panel(
            "bargauge",
            "Cost by SKU",
            "Estimated cost per SKU over the billing window.",
            (
                i(
                    f"sort_desc(sum by (sku_name) (databricks_billing_cost_estimate_usd{{{WS}}}))",
                    "{{sku_name}}",
                ),
            ),
            unit="currencyUSD",
            width=8,
            height=8,
        ),
        Panel(
            "bargauge",
            "Cost by workspace",
            "Estimated cost per workspace over the billing window (unknown = account-level "
            "usage without a workspace).",
            (
                i(
                    "sort_desc(sum by (workspace_id) "
                    f"(databricks_billing_cost_estimate_usd{{{WS}}}))",
                    "{{workspace_id}}",
                ),
            ),
            unit="currencyUSD",
            width=8,
            height=8,
        ),
        Panel(
            "bargauge",
            "DBUs by SKU",
            "DBUs per SKU over the billing window.",
            (
                i(
                    f"sort_desc(sum by (sku_name) (databricks_billing_dbus_total{{{WS}}}))",
                    "{{sku_name}}",
                ),
            ),
            width=8,
            height=8,
        ),
        Panel(
            "table",
            "List-price changes",
            "SKUs whose list price changed within the price-change window "
            "(--price-change-lookback, 90d by default): explains cost moves that are not usage.",
            (i("sort_desc(databricks_price_change_events)", "{{sku_name}}"),),
            width=24,
            height=6,
            options={"table": True},
        ),
    ]


def job_panels() -> list[Panel | Row]:
    status = f"databricks_job_run_status{{{WS}}}"
    return [
        Row("Jobs (jobs window, 24h by default)"),
        Panel(
            "stat",
            "Runs",
            "Distinct runs active in the jobs window.",
            (i(f"sum by (workspace_id) (databricks_job_runs_total{{{WS}}})", "{{workspace_id}}"),),
            width=5,
            height=4,
        ),
        Panel(
            "stat",
            "Failure ratio",
            "Finished runs that failed, timed out or errored, over all finished runs.",
            (
                i(
                    failure_ratio("databricks_job_run_status", JOB_FAILED, "workspace_id"),
                    "{{workspace_id}}",
                ),
            ),
            unit="percentunit",
            width=5,
            height=4,
            thresholds=ratio_thresholds(0.1),
        ),
        Panel(
            "stat",
            "SLA misses",
            "Finished runs longer than the SLA threshold (--sla-threshold, 1h by default).",
            (
                i(
                    f"sum by (workspace_id) (databricks_job_sla_miss_total{{{WS}}})",
                    "{{workspace_id}}",
                ),
            ),
            width=5,
            height=4,
            thresholds=ANY_IS_BAD,
        ),
        Panel(
            "stat",
            "Task retries",
            "Extra task runs: for each job run and task, task run ids beyond the first.",
            (
                i(
                    f"sum by (workspace_id) (databricks_task_retries_total{{{WS}}})",
                    "{{workspace_id}}",
                ),
            ),
            width=5,
            height=4,
        ),
        Panel(
            "bargauge",
            "Finished runs by state",
            "Finished runs by final result state (an open set of values).",
            (i(f"sort_desc(sum by (status) ({status}))", "{{status}}"),),
            width=4,
            height=4,
        ),
        Panel(
            "timeseries",
            "Finished runs by state",
            "Finished runs in the window, by final state." + WINDOW_NOTE,
            (q(f"sum by (status) ({status})", "{{status}}"),),
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Failure ratio",
            "Failed, timed-out or errored runs over finished runs, with the alert threshold."
            + WINDOW_NOTE,
            (
                q(
                    failure_ratio("databricks_job_run_status", JOB_FAILED, "workspace_id"),
                    "{{workspace_id}}",
                ),
                q("databricks:alert_threshold:job_failure_ratio", "alert threshold"),
            ),
            unit="percentunit",
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Run duration quantiles",
            "p50, p95 and p99 of the durations of runs that finished in the window (whole "
            "runs, not hourly slices).",
            (
                q(
                    f"databricks_job_run_duration_seconds{{{WS}}}",
                    "{{workspace_id}} p{{quantile}}",
                ),
            ),
            unit="s",
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "SLA misses and task retries",
            "SLA misses and task retries in the window." + WINDOW_NOTE,
            (
                q(
                    f"sum by (workspace_id) (databricks_job_sla_miss_total{{{WS}}})",
                    "{{workspace_id}} SLA misses",
                ),
                q(
                    f"sum by (workspace_id) (databricks_task_retries_total{{{WS}}})",
                    "{{workspace_id}} task retries",
                ),
            ),
            width=12,
            height=8,
        ),
        Panel(
            "timeseries",
            "Runs",
            "Distinct runs active in the window." + WINDOW_NOTE,
            (q(f"sum by (workspace_id) (databricks_job_runs_total{{{WS}}})", "{{workspace_id}}"),),
            width=12,
            height=8,
        ),
    ]


def pipeline_panels() -> list[Panel | Row]:
    status = f"databricks_pipeline_run_status{{{WS}}}"
    lag = f"databricks_pipeline_freshness_lag_seconds{{{WS}}}"
    return [
        Row("Pipelines (pipelines window, 24h by default)"),
        Panel(
            "stat",
            "Updates",
            "Distinct pipeline updates active in the window.",
            (
                i(
                    f"sum by (workspace_id) (databricks_pipeline_runs_total{{{WS}}})",
                    "{{workspace_id}}",
                ),
            ),
            width=5,
            height=4,
        ),
        Panel(
            "stat",
            "Failure ratio",
            "Failed updates over finished updates.",
            (
                i(
                    failure_ratio(
                        "databricks_pipeline_run_status", PIPELINE_FAILED, "workspace_id"
                    ),
                    "{{workspace_id}}",
                ),
            ),
            unit="percentunit",
            width=5,
            height=4,
            thresholds=ratio_thresholds(0.1),
        ),
        Panel(
            "stat",
            "Retry events",
            "Restarts: for each request, update ids beyond the first.",
            (
                i(
                    f"sum by (workspace_id) (databricks_pipeline_retry_events_total{{{WS}}})",
                    "{{workspace_id}}",
                ),
            ),
            width=5,
            height=4,
        ),
        Panel(
            "bargauge",
            "Freshness lag by stage",
            "Average over a workspace's pipelines of the time since their latest completed "
            "update of each type (stage), within the freshness horizon (7d by default).",
            (i(f"max by (workspace_id, stage) ({lag})", "{{workspace_id}} {{stage}}"),),
            unit="s",
            width=9,
            height=4,
            thresholds=(("green", None), ("orange", 24 * 3600.0), ("red", 26 * 3600.0)),
        ),
        Panel(
            "timeseries",
            "Finished updates by state",
            "Finished updates in the window, by final state." + WINDOW_NOTE,
            (q(f"sum by (status) ({status})", "{{status}}"),),
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Failure ratio",
            "Failed updates over finished updates, with the alert threshold." + WINDOW_NOTE,
            (
                q(
                    failure_ratio(
                        "databricks_pipeline_run_status", PIPELINE_FAILED, "workspace_id"
                    ),
                    "{{workspace_id}}",
                ),
                q("databricks:alert_threshold:pipeline_failure_ratio", "alert threshold"),
            ),
            unit="percentunit",
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Update duration quantiles",
            "p50, p95 and p99 of the durations of updates that finished in the window.",
            (
                q(
                    f"databricks_pipeline_run_duration_seconds{{{WS}}}",
                    "{{workspace_id}} p{{quantile}}",
                ),
            ),
            unit="s",
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Freshness lag",
            "Average time since the latest completed update, per stage, with the alert threshold.",
            (
                q(lag, "{{workspace_id}} {{stage}}"),
                q("databricks:alert_threshold:pipeline_freshness_lag_seconds", "alert threshold"),
            ),
            unit="s",
            width=12,
            height=8,
        ),
        Panel(
            "timeseries",
            "Updates and retry events",
            "Updates active in the window and restarts among them." + WINDOW_NOTE,
            (
                q(
                    f"sum by (workspace_id) (databricks_pipeline_runs_total{{{WS}}})",
                    "{{workspace_id}} updates",
                ),
                q(
                    f"sum by (workspace_id) (databricks_pipeline_retry_events_total{{{WS}}})",
                    "{{workspace_id}} retry events",
                ),
            ),
            width=12,
            height=8,
        ),
    ]


def lakeflow_health_panels() -> list[Panel | Row]:
    collectors = 'collector=~"jobs|pipelines"'
    return [
        Row("Data behind this dashboard"),
        Panel(
            "stat",
            "Last refresh",
            "Result of the last refresh of the jobs and pipelines collectors.",
            (
                i(
                    f"databricks_exporter_collector_last_refresh_success{{{collectors}}}",
                    "{{collector}}",
                ),
            ),
            width=8,
            height=4,
            mappings=OK_FAILED,
        ),
        Panel(
            "stat",
            "Age of the data",
            "Time since the warehouse computed the served jobs and pipelines data.",
            (
                i(
                    "time() - databricks_exporter_collector_data_as_of_timestamp_seconds"
                    f"{{{collectors}}}",
                    "{{collector}}",
                ),
            ),
            unit="s",
            width=8,
            height=4,
        ),
        Panel(
            "stat",
            "Lakeflow tables readable",
            "Whether the service principal can read the system.lakeflow tables.",
            (i('databricks_exporter_table_readable{table=~"system.lakeflow.+"}', "{{table}}"),),
            width=8,
            height=4,
            mappings=READABLE,
        ),
    ]


def query_panels() -> list[Panel | Row]:
    queries = f"databricks_queries_total{{{WS}}}"
    errors = f"databricks_query_errors_total{{{WS}}}"
    ratio = f"sum by (workspace_id) ({errors}) / sum by (workspace_id) ({queries})"
    return [
        Row("SQL statements (queries window, 1h by default)"),
        Panel(
            "stat",
            "Statements",
            "Statements started in the window, the exporter's own excluded.",
            (i(f"sum by (workspace_id) ({queries})", "{{workspace_id}}"),),
            width=6,
            height=4,
        ),
        Panel(
            "stat",
            "Failed statements",
            "Statements started in the window that failed.",
            (i(f"sum by (workspace_id) ({errors})", "{{workspace_id}}"),),
            width=6,
            height=4,
        ),
        Panel(
            "stat",
            "Error ratio",
            "Failed statements over statements started in the window.",
            (i(ratio, "{{workspace_id}}"),),
            unit="percentunit",
            width=6,
            height=4,
            thresholds=ratio_thresholds(0.05),
        ),
        Panel(
            "stat",
            "Peak concurrency",
            "Most statements executing at the same instant during the window.",
            (i(f"max by (workspace_id) (databricks_queries_running{{{WS}}})", "{{workspace_id}}"),),
            width=6,
            height=4,
        ),
        Panel(
            "timeseries",
            "Statements and failures",
            "Statements started in the window and failures among them." + WINDOW_NOTE,
            (
                q(f"sum by (workspace_id) ({queries})", "{{workspace_id}} statements"),
                q(f"sum by (workspace_id) ({errors})", "{{workspace_id}} failed"),
            ),
            width=12,
            height=8,
        ),
        Panel(
            "timeseries",
            "Error ratio",
            "Failed over started statements, with the alert threshold." + WINDOW_NOTE,
            (
                q(ratio, "{{workspace_id}}"),
                q("databricks:alert_threshold:query_error_ratio", "alert threshold"),
            ),
            unit="percentunit",
            width=12,
            height=8,
        ),
        Panel(
            "timeseries",
            "Duration quantiles",
            "p50, p95 and p99 of total_duration_ms of the statements started in the window.",
            (q(f"databricks_query_duration_seconds{{{WS}}}", "{{workspace_id}} p{{quantile}}"),),
            unit="s",
            width=12,
            height=8,
        ),
        Panel(
            "timeseries",
            "Peak concurrent statements",
            "Peak number of statements executing at once during the window (a sweep over "
            "start and end times)." + WINDOW_NOTE,
            (q(f"databricks_queries_running{{{WS}}}", "{{workspace_id}}"),),
            width=12,
            height=8,
        ),
    ]


def warehouse_load_panels() -> list[Panel | Row]:
    statements = "databricks_exporter_statements_total"
    return [
        Row("The exporter's load on the SQL warehouse"),
        Panel(
            "stat",
            "Statements sent, last hour",
            "Statements the exporter sent to the warehouse in the last hour (about 37 at the "
            "default intervals: docs/cost.md). A real counter, so increase() applies.",
            (i(f"sum(increase({statements}[1h]))"),),
            width=6,
            height=4,
        ),
        Panel(
            "stat",
            "Unsuccessful statements, last hour",
            "Statements that did not succeed, any outcome.",
            (i(f'sum(increase({statements}{{outcome!="success"}}[1h]))'),),
            width=6,
            height=4,
            thresholds=ANY_IS_BAD,
        ),
        Panel(
            "stat",
            "Refresh state",
            "pending = waiting for the warehouse (for example a cold start).",
            (i("databricks_exporter_collector_refresh_state == 1", "{{collector}}: {{state}}"),),
            width=6,
            height=4,
            options={"textMode": "name", "colorMode": "none"},
        ),
        Panel(
            "stat",
            "Refreshes paused (idle)",
            "While paused nothing is sent, so the warehouse can auto-stop (--idle-pause).",
            (i("max(databricks_exporter_idle_paused)"),),
            width=6,
            height=4,
            mappings=(("0", "no", "green"), ("1", "paused", "blue")),
        ),
        Panel(
            "timeseries",
            "Statements per hour by collector",
            "Statements sent in the hour before each point.",
            (q(f"sum by (collector) (increase({statements}[1h]))", "{{collector}}"),),
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Statement outcomes",
            "Statements sent per interval, by outcome (success, timeout, throttled, ...).",
            (
                q(
                    f"sum by (outcome) (increase({statements}[$__rate_interval]))",
                    "{{outcome}}",
                ),
            ),
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Waiting for the warehouse",
            "Collectors whose statement is pending (warehouse starting or queued) or running.",
            (
                q(
                    "sum by (state) "
                    '(databricks_exporter_collector_refresh_state{state=~"pending|running"})',
                    "{{state}}",
                ),
            ),
            width=8,
            height=8,
        ),
        Panel(
            "timeseries",
            "Refresh duration",
            "Duration of each collector's last refresh, cold starts included.",
            (q("databricks_exporter_collector_refresh_duration_seconds", "{{collector}}"),),
            unit="s",
            width=24,
            height=8,
        ),
    ]


@dataclass(frozen=True)
class Dashboard:
    file: str
    uid: str
    title: str
    description: str
    content: list[Panel | Row]
    timezone: str = ""


DASHBOARDS = (
    Dashboard(
        "overview-cost.json",
        "databricks-overview-cost",
        "Databricks / Overview and cost",
        "Exporter health, workload summary and estimated cost at list prices.",
        [*health_panels(), *summary_panels(), *cost_panels()],
        timezone="utc",
    ),
    Dashboard(
        "jobs-pipelines.json",
        "databricks-jobs-pipelines",
        "Databricks / Jobs and pipelines",
        "Lakeflow job runs and pipeline updates over the exporter's sliding windows.",
        [*job_panels(), *pipeline_panels(), *lakeflow_health_panels()],
    ),
    Dashboard(
        "sql-warehouses-queries.json",
        "databricks-sql-queries",
        "Databricks / SQL warehouses and queries",
        "SQL statements from system.query.history and the exporter's own load on the warehouse.",
        [*query_panels(), *warehouse_load_panels()],
    ),
)


def _field_config(panel: Panel) -> Json:
    defaults: Json = {
        "unit": panel.unit,
        "thresholds": {
            "mode": "absolute",
            "steps": [{"color": color, "value": value} for color, value in panel.thresholds],
        },
        "mappings": [],
        "color": {
            "mode": "thresholds" if panel.kind in ("stat", "bargauge") else "palette-classic"
        },
    }
    if panel.mappings:
        defaults["mappings"] = [
            {
                "type": "value",
                "options": {
                    value: {"text": text, "color": color, "index": index}
                    for index, (value, text, color) in enumerate(panel.mappings)
                },
            }
        ]
    if panel.kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}
    return {"defaults": defaults, "overrides": []}


def _options(panel: Panel) -> Json:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "stat":
        return {
            "reduceOptions": reduce,
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            **panel.options,
        }
    if panel.kind == "bargauge":
        return {"reduceOptions": reduce, "orientation": "horizontal", "displayMode": "gradient"}
    if panel.kind == "barchart":
        return {"xField": panel.options["xField"], "orientation": "vertical", "showValue": "auto"}
    if panel.kind == "table":
        return {"showHeader": True, "sortBy": [{"displayName": "Value", "desc": True}]}
    return {
        "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def _targets(panel: Panel) -> list[Json]:
    table = bool(panel.options.get("table"))
    return [
        {
            "refId": chr(ord("A") + index),
            "datasource": DS,
            "expr": query.expr,
            "legendFormat": query.legend,
            "instant": query.instant,
            "range": not query.instant,
            "format": "table" if table else "time_series",
        }
        for index, query in enumerate(panel.queries)
    ]


def _transformations(panel: Panel) -> list[Json]:
    if not panel.options.get("table"):
        return []
    steps: list[Json] = [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]
    if panel.kind == "barchart":
        steps.append({"id": "sortBy", "options": {"sort": [{"field": panel.options["xField"]}]}})
    return steps


class Layout:
    """Places panels left to right, wrapping at the grid's width; rows span it."""

    def __init__(self) -> None:
        self.x = self.y = self.row_height = 0
        self.next_id = 1

    def place(self, width: int, height: int) -> tuple[int, Json]:
        if self.x + width > WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        position = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.x += width
        self.row_height = max(self.row_height, height)
        self.next_id += 1
        return self.next_id - 1, position

    def new_row(self) -> tuple[int, Json]:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel_id, position = self.place(WIDTH, 1)
        self.x, self.y, self.row_height = 0, self.y + 1, 0
        return panel_id, position


def _render(item: Panel | Row, layout: Layout) -> Json:
    if isinstance(item, Row):
        panel_id, position = layout.new_row()
        return {
            "type": "row",
            "id": panel_id,
            "title": item.title,
            "collapsed": False,
            "gridPos": position,
            "panels": [],
        }
    panel_id, position = layout.place(item.width, item.height)
    return {
        "type": item.kind,
        "id": panel_id,
        "title": item.title,
        "description": item.description,
        "datasource": DS,
        "gridPos": position,
        "fieldConfig": _field_config(item),
        "options": _options(item),
        "targets": _targets(item),
        "transformations": _transformations(item),
    }


def _templating() -> Json:
    selector = '{__name__=~"databricks_.+", workspace_id!=""}'
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
                "regex": "",
                "includeAll": False,
                "multi": False,
                "options": [],
            },
            {
                "name": "workspace_id",
                "label": "Workspace",
                "type": "query",
                "datasource": DS,
                "definition": f"label_values({selector}, workspace_id)",
                "query": f"label_values({selector}, workspace_id)",
                "current": {},
                "hide": 0,
                "refresh": 2,
                "regex": "",
                "sort": 1,
                "includeAll": True,
                "allValue": ".*",
                "multi": True,
                "options": [],
            },
        ]
    }


def render(dashboard: Dashboard) -> Json:
    """The Grafana JSON model of one dashboard."""
    layout = Layout()
    panel_types = sorted({p.kind for p in dashboard.content if isinstance(p, Panel)})
    return {
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            *({"type": "panel", "id": kind, "name": kind, "version": ""} for kind in panel_types),
        ],
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["databricks", "databricks-exporter"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": dashboard.timezone,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "links": [
            {
                "type": "dashboards",
                "title": "Databricks",
                "tags": ["databricks-exporter"],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {"list": []},
        "templating": _templating(),
        "panels": [_render(item, layout) for item in dashboard.content],
    }


def text_of(dashboard: Dashboard) -> str:
    """The file content: stable key order, two-space indent, trailing newline."""
    return json.dumps(render(dashboard), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    check = parser.parse_args(argv).check
    stale = []
    for dashboard in DASHBOARDS:
        path = OUT / dashboard.file
        text = text_of(dashboard)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date (run {Path(__file__).name}): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
