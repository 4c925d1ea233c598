"""Job runs from the Lakeflow run and task-run timelines.

Series (window = `--jobs-lookback`, 24h by default):

* `databricks_job_runs_total{workspace_id}`: distinct runs active in the window (counter).
* `databricks_job_run_status{workspace_id,status}`: finished runs ending in the window, by final
  state; a state appears only when a run ended in it.
* `databricks_job_run_duration_seconds{workspace_id,quantile}`: p50/p95/p99 of their durations,
  for workspaces with finished runs.
* `databricks_task_retries_total{workspace_id}`: retries of task runs active in the window;
  0 for a workspace whose task runs were not retried (counter).
* `databricks_job_sla_miss_total{workspace_id}`: finished runs longer than `--sla-threshold`;
  0 for a workspace with runs active in the window and no miss (counter).

A run is (workspace_id, job_id, run_id) assembled from its hourly slices, with 24h of history
before the window so long runs keep their full duration; the SQL in `jobs.sql` explains each
step.

With `--collector.jobs.by-job` every series also has `job_id` and `job_name` (the top K jobs
per workspace by runs active in the window, the others as `other`; `jobs_by_job.sql`), and
with `--collector.jobs.by-task` the task retries also have `task_key`.
"""

from __future__ import annotations

from databricks_exporter.collectors.base import (
    MetricSpec,
    StatementCollector,
    seconds_parameter,
    window_text,
)
from databricks_exporter.collectors.drilldown import by_entity, entity_name, top_k_parameter
from databricks_exporter.collectors.names import NameDirectory
from databricks_exporter.settings import Drilldown, Windows
from databricks_exporter.warehouse.result import Parameter

RUN_TIMELINE = "system.lakeflow.job_run_timeline"
TASK_TIMELINE = "system.lakeflow.job_task_run_timeline"
_SLIDING = "(sliding window; do not rate())"


def metric_specs(windows: Windows) -> tuple[MetricSpec, ...]:
    """The jobs metrics, their HELP texts stating the configured window."""
    last = f"in the last {window_text(windows.jobs_lookback)}"
    history = window_text(windows.run_history)
    sla = f"{windows.sla_threshold:g}s"
    return (
        MetricSpec(
            "databricks_job_runs_total",
            "counter",
            f"Distinct job runs active (a slice ending) {last} {_SLIDING}",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_job_run_status",
            "gauge",
            f"Job runs finished {last}, by the result state of their latest terminal slice",
            ("workspace_id", "status"),
        ),
        MetricSpec(
            "databricks_job_run_duration_seconds",
            "gauge",
            f"Quantiles of the duration (first slice start to last slice end) of job runs "
            f"finished {last}; runs started up to {history} before the window are complete",
            ("workspace_id", "quantile"),
        ),
        MetricSpec(
            "databricks_task_retries_total",
            "counter",
            f"Task retries {last}: distinct task runs minus one per job run and task key, over "
            f"task runs active in the window {_SLIDING}",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_job_sla_miss_total",
            "counter",
            f"Job runs finished {last} that ran longer than {sla} {_SLIDING}",
            ("workspace_id",),
        ),
    )


def by_job_specs(specs: tuple[MetricSpec, ...], drilldown: Drilldown) -> tuple[MetricSpec, ...]:
    """The jobs metrics with job_id and job_name (and task_key on task retries)."""
    task_key = {"databricks_task_retries_total": ("task_key",)} if drilldown.jobs_by_task else {}
    return by_entity(specs, "jobs", drilldown.top_k, "runs active in the window", task_key)


class JobsCollector(StatementCollector):
    """Runs, not slices: counts, final states, durations, task retries and SLA misses."""

    name: str = "jobs"
    tables: tuple[str, ...] = (RUN_TIMELINE, TASK_TIMELINE)

    def __init__(
        self,
        windows: Windows,
        drilldown: Drilldown | None = None,
        names: NameDirectory | None = None,
    ) -> None:
        drilldown = drilldown or Drilldown()
        parameters = {
            "lookback_seconds": seconds_parameter(windows.jobs_lookback),
            "run_history_seconds": seconds_parameter(windows.run_history),
            "sla_threshold_seconds": Parameter(float(windows.sla_threshold), "DOUBLE"),
        }
        if not drilldown.jobs_by_job:
            super().__init__(metric_specs(windows), "jobs.sql", parameters)
            return
        parameters["top_k"] = top_k_parameter(drilldown.top_k)
        parameters["by_task"] = Parameter(drilldown.jobs_by_task, "BOOLEAN")
        super().__init__(
            by_job_specs(metric_specs(windows), drilldown),
            "jobs_by_job.sql",
            parameters,
            drilldown=True,
            derived=entity_name(names, "jobs", self.name),
        )
