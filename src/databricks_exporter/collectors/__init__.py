"""The metric domains: one collector per group of system tables, each with its SQL beside it."""

from __future__ import annotations

from collections.abc import Callable

from databricks_exporter.collectors.base import Collector
from databricks_exporter.collectors.billing import BillingCollector
from databricks_exporter.collectors.jobs import JobsCollector
from databricks_exporter.collectors.pipelines import PipelinesCollector
from databricks_exporter.collectors.queries import QueriesCollector
from databricks_exporter.settings import COLLECTOR_NAMES, Settings, Windows

_BUILDERS: dict[str, Callable[[Windows], Collector]] = {
    "billing": BillingCollector,
    "jobs": JobsCollector,
    "pipelines": PipelinesCollector,
    "queries": QueriesCollector,
}


def build_collectors(settings: Settings) -> list[Collector]:
    """The enabled collectors, in the order billing, jobs, pipelines, queries."""
    enabled = {c.name for c in settings.enabled_collectors}
    return [_BUILDERS[name](settings.windows) for name in COLLECTOR_NAMES if name in enabled]


__all__ = ["build_collectors"]
