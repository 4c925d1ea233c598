"""The metric domains: one collector per group of system tables, each with its SQL beside it."""

from __future__ import annotations

from collections.abc import Callable

from databricks_exporter.collectors.base import Collector
from databricks_exporter.collectors.billing import BillingCollector
from databricks_exporter.collectors.jobs import JobsCollector
from databricks_exporter.collectors.names import NameDirectory, NamesCollector
from databricks_exporter.collectors.pipelines import PipelinesCollector
from databricks_exporter.collectors.queries import QueriesCollector
from databricks_exporter.settings import COLLECTOR_NAMES, Drilldown, Settings, Windows

_BUILDERS: dict[str, Callable[[Windows, Drilldown, NameDirectory], Collector]] = {
    "billing": BillingCollector,
    "jobs": JobsCollector,
    "pipelines": PipelinesCollector,
    "queries": QueriesCollector,
}


def build_collectors(settings: Settings, names: NameDirectory | None = None) -> list[Collector]:
    """The enabled collectors, in the order billing, jobs, pipelines, queries, then the names
    runners the enabled drill-downs need (none when every drill-down is off)."""
    names = names or NameDirectory()
    enabled = {c.name for c in settings.enabled_collectors}
    collectors = [
        _BUILDERS[name](settings.windows, settings.drilldown, names)
        for name in COLLECTOR_NAMES
        if name in enabled
    ]
    runners: list[Collector] = [
        NamesCollector(kind, settings.windows, names) for kind in settings.drilldown.name_kinds
    ]
    return collectors + runners


__all__ = ["build_collectors"]
