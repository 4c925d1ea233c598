"""The exporter describing itself.

Series:
    databricks_up
    databricks_exporter_build_info{version,python_version}
    databricks_exporter_collector_last_refresh_success{collector}
    databricks_exporter_collector_last_success_timestamp_seconds{collector}
    databricks_exporter_collector_last_attempt_timestamp_seconds{collector}
    databricks_exporter_collector_refresh_duration_seconds{collector}
    databricks_exporter_collector_data_as_of_timestamp_seconds{collector}
    databricks_exporter_collector_stale{collector}
    databricks_exporter_collector_series{collector}
    databricks_exporter_collector_refresh_state{collector,state}
    databricks_exporter_collector_metrics_withheld{collector}
    databricks_exporter_statements_total{collector,outcome}
    databricks_exporter_table_readable{table}
    databricks_exporter_idle_paused
    databricks_exporter_drilldown_folded_entities{collector,workspace_id,label}
        (only while a drill-down is on)
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from databricks_exporter import __version__
from databricks_exporter.collectors.base import Folded

REFRESH_STATES = ("idle", "pending", "running", "paused")
OUTCOMES = (
    "success",
    "failed",
    "timeout",
    "canceled",
    "auth",
    "permission",
    "table_missing",
    "throttled",
    "network",
    "server",
    "bad_result",
)


@dataclass(frozen=True)
class CollectorView:
    """What the self-metrics need to know about one collector."""

    name: str
    last_ok: bool | None
    last_success: float | None
    last_attempt: float | None
    duration: float | None
    as_of: float | None
    stale: bool
    series: int
    state: str
    withheld: int
    statements: Mapping[str, int] = field(default_factory=dict)
    #: Entities folded into `other` at the last success; None without a drill-down.
    folded: tuple[Folded, ...] | None = None


def health_families(up: bool) -> list[Metric]:
    """`databricks_up` alone, so it can lead the exposition."""
    family = GaugeMetricFamily(
        "databricks_up",
        "1 when the latest contact with the workspace succeeded (token obtained, statement "
        "run), 0 when authentication, the network or the warehouse failed.",
    )
    family.add_metric([], 1.0 if up else 0.0)
    return [family]


def _gauge(name: str, doc: str, labels: Iterable[str] = ("collector",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"databricks_exporter_{name}", doc, labels=list(labels))


def _collector_families(views: Iterable[CollectorView]) -> list[Metric]:
    ok = _gauge("collector_last_refresh_success", "1 if the last refresh attempt succeeded.")
    success = _gauge(
        "collector_last_success_timestamp_seconds", "When the last successful refresh ended."
    )
    attempt = _gauge(
        "collector_last_attempt_timestamp_seconds", "When the last refresh attempt ended."
    )
    duration = _gauge("collector_refresh_duration_seconds", "Duration of the last refresh.")
    as_of = _gauge(
        "collector_data_as_of_timestamp_seconds",
        "The warehouse clock (current_timestamp) when the served data was computed.",
    )
    stale = _gauge(
        "collector_stale", "1 when the collector's series were withdrawn for being too old."
    )
    series = _gauge("collector_series", "Series the collector currently serves.")
    withheld = _gauge(
        "collector_metrics_withheld",
        "Metrics withheld from the last refresh because their values were unusable.",
    )
    state = _gauge(
        "collector_refresh_state",
        "What the collector is doing: idle, pending (waiting for the warehouse), running, paused.",
        ("collector", "state"),
    )
    statements = CounterMetricFamily(
        "databricks_exporter_statements",
        "Statements sent to the warehouse, by outcome.",
        labels=["collector", "outcome"],
    )
    for view in views:
        labels = [view.name]
        if view.last_ok is not None:
            ok.add_metric(labels, 1.0 if view.last_ok else 0.0)
        for family, value in (
            (success, view.last_success),
            (attempt, view.last_attempt),
            (duration, view.duration),
            (as_of, view.as_of),
        ):
            if value is not None:
                family.add_metric(labels, value)
        stale.add_metric(labels, 1.0 if view.stale else 0.0)
        series.add_metric(labels, float(view.series))
        withheld.add_metric(labels, float(view.withheld))
        for name in REFRESH_STATES:
            state.add_metric([view.name, name], 1.0 if view.state == name else 0.0)
        for outcome in OUTCOMES:
            statements.add_metric([view.name, outcome], float(view.statements.get(outcome, 0)))
    return [ok, success, attempt, duration, as_of, stale, series, withheld, state, statements]


def exporter_families(
    views: Iterable[CollectorView], tables: Mapping[str, bool], idle_paused: bool
) -> list[Metric]:
    """Every self-metric except `databricks_up`."""
    build = _gauge(
        "build_info",
        "Version of the exporter; the value is always 1.",
        ("version", "python_version"),
    )
    build.add_metric([__version__, platform.python_version()], 1.0)
    readable = _gauge(
        "table_readable", "1 if the system table was readable at the last attempt.", ("table",)
    )
    for table in sorted(tables):
        readable.add_metric([table], 1.0 if tables[table] else 0.0)
    paused = _gauge(
        "idle_paused", "1 while refreshes are paused because nobody scraped recently.", ()
    )
    paused.add_metric([], 1.0 if idle_paused else 0.0)
    return [build, *_collector_families(views), readable, paused, *_folded_family(views)]


def _folded_family(views: Iterable[CollectorView]) -> list[Metric]:
    """How many entities the drill-downs folded into `other`; no family when none is on."""
    drilled = [view for view in views if view.folded is not None]
    if not drilled:
        return []
    family = _gauge(
        "drilldown_folded_entities",
        "Entities (jobs, pipelines, warehouses, tag value combinations) beyond the top K of a "
        "workspace, folded into the series labelled other, at the last successful refresh.",
        ("collector", "workspace_id", "label"),
    )
    for view in drilled:
        for folded in sorted(view.folded or (), key=lambda f: (f.workspace_id, f.label)):
            family.add_metric([view.name, folded.workspace_id, folded.label], folded.entities)
    return [family]
