"""Pipeline updates from the Lakeflow pipeline update timeline.

Series (window = `--pipelines-lookback`, 24h by default):

* `databricks_pipeline_runs_total{workspace_id}`: distinct updates active in the window
  (counter).
* `databricks_pipeline_run_status{workspace_id,status}`: finished updates ending in the window,
  by final state; a state appears only when an update ended in it.
* `databricks_pipeline_run_duration_seconds{workspace_id,quantile}`: p50/p95/p99 of their
  durations, for workspaces with finished updates.
* `databricks_pipeline_retry_events_total{workspace_id}`: restarts of requests active in the
  window (updates of a request beyond its first, over the scanned history); 0 for a workspace
  with updates active in the window and no restart (counter).
* `databricks_pipeline_freshness_lag_seconds{workspace_id,stage}`: per update type, the average
  over pipelines of now minus the end of the latest COMPLETED update within
  `--pipelines-freshness-horizon` (7d).

An update is (workspace_id, pipeline_id, update_id) assembled from its hourly slices; the
statement scans max(lookback + 24h, freshness horizon) of history (`pipelines.sql`).

With `--collector.pipelines.by-pipeline` every series also has `pipeline_id` and
`pipeline_name` (the top K pipelines per workspace by updates active in the window, the others
as `other`; `pipelines_by_pipeline.sql`).
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

UPDATE_TIMELINE = "system.lakeflow.pipeline_update_timeline"
_SLIDING = "(sliding window; do not rate())"


def history_seconds(windows: Windows) -> float:
    """How far back the pipelines statement reads slices."""
    return max(
        windows.pipelines_lookback + windows.run_history, windows.pipelines_freshness_horizon
    )


def metric_specs(windows: Windows) -> tuple[MetricSpec, ...]:
    """The pipeline metrics, their HELP texts stating the configured windows."""
    last = f"in the last {window_text(windows.pipelines_lookback)}"
    history = window_text(history_seconds(windows))
    return (
        MetricSpec(
            "databricks_pipeline_runs_total",
            "counter",
            f"Distinct pipeline updates active (a slice ending) {last} {_SLIDING}",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_pipeline_run_status",
            "gauge",
            f"Pipeline updates finished {last}, by the result state of their latest terminal slice",
            ("workspace_id", "status"),
        ),
        MetricSpec(
            "databricks_pipeline_run_duration_seconds",
            "gauge",
            f"Quantiles of the duration (first slice start to last slice end) of pipeline "
            f"updates finished {last}; slices of the last {history} are read",
            ("workspace_id", "quantile"),
        ),
        MetricSpec(
            "databricks_pipeline_retry_events_total",
            "counter",
            f"Restarts of pipeline requests active {last}: updates of a request beyond its "
            f"first, counted over the last {history} {_SLIDING}",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_pipeline_freshness_lag_seconds",
            "gauge",
            "Seconds since the latest COMPLETED update of this type, averaged over the "
            f"workspace's pipelines that completed one in the last "
            f"{window_text(windows.pipelines_freshness_horizon)}",
            ("workspace_id", "stage"),
        ),
    )


class PipelinesCollector(StatementCollector):
    """Updates, not slices: counts, final states, durations, restarts and freshness."""

    name: str = "pipelines"
    tables: tuple[str, ...] = (UPDATE_TIMELINE,)

    def __init__(
        self,
        windows: Windows,
        drilldown: Drilldown | None = None,
        names: NameDirectory | None = None,
    ) -> None:
        drilldown = drilldown or Drilldown()
        parameters = {
            "lookback_seconds": seconds_parameter(windows.pipelines_lookback),
            "run_history_seconds": seconds_parameter(windows.run_history),
            "freshness_horizon_seconds": seconds_parameter(windows.pipelines_freshness_horizon),
        }
        if not drilldown.pipelines_by_pipeline:
            super().__init__(metric_specs(windows), "pipelines.sql", parameters)
            return
        parameters["top_k"] = top_k_parameter(drilldown.top_k)
        activity = "updates active in the window"
        super().__init__(
            by_entity(metric_specs(windows), "pipelines", drilldown.top_k, activity),
            "pipelines_by_pipeline.sql",
            parameters,
            drilldown=True,
            derived=entity_name(names, "pipelines", self.name),
        )
