"""A synthetic warehouse whose results follow the collectors' row contract, at any size.

Real cardinality grows with the number of workspaces: billing has one series per workspace,
SKU and usage date (31 dates in the default 30d lookback), the other collectors a handful per
workspace. `SyntheticWarehouse(workspaces)` answers each collector's statement with long-format
rows over label domains of those shapes, so the real collectors build and render families
exactly as they would from Databricks. The rows depend only on the workspace count.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Mapping
from itertools import product

from databricks_exporter.collectors import build_collectors
from databricks_exporter.collectors.base import NOW_ROW, Collector, MetricSpec
from databricks_exporter.settings import Settings
from databricks_exporter.warehouse.result import Column, Statement, StatementResult, Value

AS_OF = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SKUS = (
    "PREMIUM_JOBS_COMPUTE",
    "PREMIUM_JOBS_COMPUTE_(PHOTON)",
    "PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA",
    "PREMIUM_ALL_PURPOSE_COMPUTE",
    "PREMIUM_ALL_PURPOSE_COMPUTE_(PHOTON)",
    "PREMIUM_SQL_PRO_COMPUTE_US_EAST_N_VIRGINIA",
    "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA",
    "PREMIUM_DLT_CORE_COMPUTE",
    "PREMIUM_DLT_PRO_COMPUTE",
    "PREMIUM_DLT_ADVANCED_COMPUTE_(PHOTON)",
    "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_EAST_N_VIRGINIA",
    "PREMIUM_MODEL_TRAINING_US_EAST_N_VIRGINIA",
    "PREMIUM_VECTOR_SEARCH_ENDPOINT_US_EAST_N_VIRGINIA",
    "PREMIUM_DATABRICKS_STORAGE_US_EAST_N_VIRGINIA",
    "PREMIUM_NETWORKING_NAT_GATEWAY_US_EAST_N_VIRGINIA",
    "PREMIUM_AI_FUNCTIONS_US_EAST_N_VIRGINIA",
)
#: Label domains other than workspace_id, which scales.
DOMAINS: Mapping[str, tuple[str, ...]] = {
    "sku_name": SKUS,
    "usage_date": tuple(
        (AS_OF.date() - dt.timedelta(days=back)).isoformat() for back in range(30, -1, -1)
    ),
    "status": ("SUCCEEDED", "FAILED", "CANCELED", "TIMED_OUT", "SKIPPED"),
    "quantile": ("0.5", "0.95", "0.99"),
    "stage": ("REFRESH", "FULL_REFRESH", "VALIDATE"),
    "days_ago": tuple(str(day) for day in range(1, 8)),
}
#: Values of a label not listed above (a metric added since): a small domain of its own.
OTHER_VALUES = 3


def domain(label: str, workspaces: int) -> tuple[str, ...]:
    """The values a label takes in a synthetic snapshot of `workspaces` workspaces."""
    if label == "workspace_id":
        return workspace_ids(workspaces)
    return DOMAINS.get(label) or tuple(f"{label}-{n}" for n in range(OTHER_VALUES))


def collectors() -> list[Collector]:
    """The real collectors with default windows."""
    return build_collectors(Settings(workspace=None))


def workspace_ids(count: int) -> tuple[str, ...]:
    """`count` distinct 16-digit workspace ids."""
    return tuple(str(1_000_000_000_000_000 + 7_919 * index) for index in range(count))


def _series(spec: MetricSpec, workspaces: int) -> int:
    return math.prod(len(domain(label, workspaces)) for label in spec.labels)


def series_for(workspaces: int) -> int:
    """Series the collectors export for `workspaces` workspaces (self-metrics excluded)."""
    return sum(_series(spec, workspaces) for c in collectors() for spec in c.metrics)


def workspaces_for(series: int) -> int:
    """The workspace count whose snapshot comes closest to `series` series."""
    per_workspace = series_for(2) - series_for(1)
    fixed = series_for(1) - per_workspace
    return max(1, round((series - fixed) / per_workspace))


def _value(rng: random.Random, spec: MetricSpec) -> float:
    if spec.type == "counter":
        return float(rng.randrange(0, 5_000_000)) / 1000
    return rng.random() * 10.0 ** rng.randrange(0, 5)


class SyntheticWarehouse:
    """The scheduler's `Warehouse`, answering every collector with rows for N workspaces.

    Rows are made afresh for each statement and not kept, as a real warehouse's would not be:
    the exporter's memory is measured with this warehouse in its process.
    """

    def __init__(self, workspaces: int, seed: int = 1) -> None:
        self.workspaces = workspaces
        self.seed = seed
        self._collectors = {c.name: c for c in collectors()}

    def _result(self, collector: Collector) -> StatementResult:
        rng = random.Random(f"{self.seed}-{collector.name}")
        labels = sorted({label for spec in collector.metrics for label in spec.labels})
        domains = {label: domain(label, self.workspaces) for label in labels}
        rows: list[tuple[Value, ...]] = [(NOW_ROW, *(None for _ in labels), AS_OF.timestamp())]
        for spec in collector.metrics:
            for values in product(*(domains[label] for label in spec.labels)):
                cells = dict(zip(spec.labels, values, strict=True))
                rows.append((spec.name, *(cells.get(label) for label in labels), _value(rng, spec)))
        columns = tuple(Column(name, "STRING") for name in ("metric", *labels))
        return StatementResult(
            f"synthetic-{collector.name}", (*columns, Column("value", "DOUBLE")), tuple(rows)
        )

    def execute(
        self, statement: Statement, *, tags: Mapping[str, str], timeout: float | None = None
    ) -> StatementResult:
        """The result for the collector named by the `collector` tag."""
        return self._result(self._collectors[tags["collector"]])

    def cancel_all(self) -> None:
        """Nothing is ever in flight."""

    def results(self) -> Iterator[tuple[Collector, StatementResult]]:
        """Each collector with its result, for building families outside a scheduler."""
        for collector in self._collectors.values():
            yield collector, self._result(collector)
