"""SQL statements from the query history.

Series (window = `--queries-lookback`, 1h by default; statements that started in it, those
tagged `app=databricks-exporter` excluded):

* `databricks_queries_total{workspace_id}`: statements started (counter).
* `databricks_query_errors_total{workspace_id}`: of those, FAILED; 0 for a workspace whose
  statements did not fail (counter).
* `databricks_query_duration_seconds{workspace_id,quantile}`: p50/p95/p99 of
  `total_duration_ms / 1000` over those with a duration.
* `databricks_queries_running{workspace_id}`: peak number executing at one instant, over
  intervals `[start_time, COALESCE(end_time, now))`, computed with a sweep (`queries.sql`).

With `--collector.queries.by-warehouse` every series also has `warehouse_id` and
`warehouse_name` (the top K warehouses per workspace by statements started in the window, the
others as `other`; statements without a warehouse under `unknown`; `queries_by_warehouse.sql`).
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

QUERY_HISTORY = "system.query.history"
#: The query tag every statement of the exporter carries, and query metrics exclude.
EXPORTER_TAG = ("app", "databricks-exporter")
_SLIDING = "(sliding window; do not rate())"


def metric_specs(windows: Windows) -> tuple[MetricSpec, ...]:
    """The query metrics, their HELP texts stating the configured window."""
    started = (
        f"statements started in the last {window_text(windows.queries_lookback)} "
        "(the exporter's own excluded)"
    )
    return (
        MetricSpec(
            "databricks_queries_total", "counter", f"SQL {started} {_SLIDING}", ("workspace_id",)
        ),
        MetricSpec(
            "databricks_query_errors_total",
            "counter",
            f"FAILED SQL {started} {_SLIDING}",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_query_duration_seconds",
            "gauge",
            f"Quantiles of total_duration_ms / 1000 of the SQL {started} that have a duration",
            ("workspace_id", "quantile"),
        ),
        MetricSpec(
            "databricks_queries_running",
            "gauge",
            f"Peak number of SQL {started} executing at the same instant, over "
            "[start_time, end_time or now)",
            ("workspace_id",),
        ),
    )


class QueriesCollector(StatementCollector):
    """Statement counts, failures, duration quantiles and peak concurrency."""

    name: str = "queries"
    tables: tuple[str, ...] = (QUERY_HISTORY,)

    def __init__(
        self,
        windows: Windows,
        drilldown: Drilldown | None = None,
        names: NameDirectory | None = None,
    ) -> None:
        drilldown = drilldown or Drilldown()
        parameters = {"lookback_seconds": seconds_parameter(windows.queries_lookback)}
        if not drilldown.queries_by_warehouse:
            super().__init__(metric_specs(windows), "queries.sql", parameters)
            return
        parameters["top_k"] = top_k_parameter(drilldown.top_k)
        activity = "statements started in the window"
        super().__init__(
            by_entity(metric_specs(windows), "warehouses", drilldown.top_k, activity),
            "queries_by_warehouse.sql",
            parameters,
            drilldown=True,
            derived=entity_name(names, "warehouses", self.name),
        )
