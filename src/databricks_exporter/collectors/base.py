"""What every collector shares: metric specs, the long-format row contract, rows -> families,
and `StatementCollector`, which each metric domain subclasses with its specs, parameters and
SQL file.

Every collector sends one statement whose result is in *long format*: one row per series with
a `metric` column naming the series' metric, one column per label (named after the label),
and a `value` column. Columns a metric does not use are ignored for it. One extra row with
`metric = '__now__'` carries the warehouse's `unix_timestamp(current_timestamp())` as its
value, so an empty result is recognisable as broken and every snapshot knows its "as of".

With a drill-down on (`drilldown.py`), a label may instead be read from a column of another
name or derived from the row's other labels (an entity's name from its id), and rows with
`metric = '__folded__'` say per workspace how many entities were folded into `other`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from databricks_exporter.logs import get_logger
from databricks_exporter.warehouse.errors import ResultError
from databricks_exporter.warehouse.result import Parameter, Statement, StatementResult, Value

log = get_logger("collectors")

NOW_ROW = "__now__"
FOLDED_ROW = "__folded__"
UNKNOWN = "unknown"
#: The label value of the series that entities beyond the top K are folded into.
OTHER = "other"


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric: its exact name, type, help text and label names."""

    name: str
    type: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Folded:
    """How many entities of a workspace a drill-down folded into its `other` series."""

    workspace_id: str
    label: str
    entities: int


@dataclass(frozen=True)
class CollectorData:
    """The families a collector built from one statement result."""

    families: tuple[Metric, ...]
    as_of: float
    series: int
    #: Metrics withheld from this snapshot because some of their rows were unusable.
    rejected: tuple[str, ...] = field(default=())
    #: Entities folded into `other` per workspace; None when the collector has no drill-down.
    folded: tuple[Folded, ...] | None = None


#: Computes a label from the row's other label values (already text).
Derive = Callable[[Mapping[str, str]], str]


@dataclass(frozen=True)
class LabelSources:
    """Labels not read from the result column of the same name."""

    #: label -> the result column it is read from.
    columns: Mapping[str, str] = field(default_factory=dict)
    #: label -> how it is computed from the row's other labels.
    derived: Mapping[str, Derive] = field(default_factory=dict)

    def column(self, label: str) -> str:
        """The result column a (not derived) label is read from."""
        return self.columns.get(label, label)


PLAIN = LabelSources()


class Collector(Protocol):
    """A metric domain: the statement it sends and how its result becomes families."""

    name: str
    #: System tables the statement reads (for GRANT hints and readability self-metrics).
    tables: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]

    def statement(self) -> Statement:
        """The one statement this collector sends per refresh."""

    def build(self, result: StatementResult) -> CollectorData:
        """Turn the statement's rows into metric families."""


#: A line of a statement file that stands for a shared part (`-- include: jobs_runs.part.sql`).
INCLUDE = "-- include: "
PART_SUFFIX = ".part.sql"


def _read_sql(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def load_sql(package: str, name: str) -> str:
    """Read a statement file beside the collector modules, its include lines expanded.

    A statement and its drill-down variant share the steps that decide what is counted (how
    runs are assembled, which statements are selected, how usage is priced): those steps live
    once, in a `.part.sql` file, and each statement file has a line `-- include: <part>`
    where they belong. A part holds whole CTEs, each followed by a comma, and includes
    nothing itself, so what is sent is always one flat, readable statement.
    """
    lines = []
    for line in _read_sql(package, name).splitlines(keepends=True):
        if not line.startswith(INCLUDE):
            lines.append(line)
            continue
        part = line.removeprefix(INCLUDE).strip()
        if not part.endswith(PART_SUFFIX):
            raise ValueError(f"{name}: an include names a {PART_SUFFIX} file, not {part!r}")
        text = _read_sql(package, part)
        if any(inner.startswith(INCLUDE) for inner in text.splitlines()):
            raise ValueError(f"{part}: a part may not include another (included by {name})")
        lines.append(text if text.endswith("\n") else text + "\n")
    return "".join(lines)


def window_text(seconds: float) -> str:
    """A lookback as HELP texts state it: `24h`, `30d`, `90m`, `1h30m`."""
    whole = round(seconds)
    if whole != seconds or whole <= 0:
        return f"{seconds:g}s"
    if whole % 86400 == 0 and whole >= 2 * 86400:
        return f"{whole // 86400}d"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def seconds_parameter(seconds: float) -> Parameter:
    """A duration in whole seconds as a BIGINT statement parameter."""
    return Parameter(round(seconds), "BIGINT")


def _label_value(value: Value) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(value)
        except ValueError:
            return None
    return None if math.isnan(number) or math.isinf(number) else number


def _family(spec: MetricSpec) -> GaugeMetricFamily | CounterMetricFamily:
    if spec.type == "counter":
        return CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
    return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)


def _require_columns(
    collector: str, specs: Iterable[MetricSpec], result: StatementResult, sources: LabelSources
) -> None:
    labels = {label for spec in specs for label in spec.labels if label not in sources.derived}
    needed = {"metric", "value"} | {sources.column(label) for label in labels}
    missing = sorted(needed - result.column_index().keys())
    if missing:
        raise ResultError(
            f"{collector}: result lacks column(s) {', '.join(missing)}",
            statement_id=result.statement_id,
        )


def _labels(
    spec: MetricSpec, row: tuple[Value, ...], index: Mapping[str, int], sources: LabelSources
) -> tuple[str, ...]:
    values = {
        label: _label_value(row[index[sources.column(label)]])
        for label in spec.labels
        if label not in sources.derived
    }
    for label, derive in sources.derived.items():
        if label in spec.labels:
            values[label] = derive(values)
    return tuple(values[label] for label in spec.labels)


def _folded(row: tuple[Value, ...], index: Mapping[str, int], statement_id: str) -> Folded:
    if "workspace_id" not in index or "folded_label" not in index:
        raise ResultError(
            f"{FOLDED_ROW} rows need workspace_id and folded_label columns",
            statement_id=statement_id,
        )
    count = _number(row[index["value"]]) or 0.0
    label = _label_value(row[index["folded_label"]])
    return Folded(_label_value(row[index["workspace_id"]]), label, int(count))


@dataclass
class _Rows:
    """What one pass over a result collects."""

    values: dict[str, dict[tuple[str, ...], float]]
    rejected: set[str] = field(default_factory=set)
    folded: list[Folded] = field(default_factory=list)
    now_seen: bool = False
    as_of: float | None = None
    duplicates: int = 0
    unexpected: set[str] = field(default_factory=set)


def _read_rows(
    collector: str, specs: tuple[MetricSpec, ...], result: StatementResult, sources: LabelSources
) -> _Rows:
    index = result.column_index()
    by_name = {spec.name: spec for spec in specs}
    rows = _Rows({spec.name: {} for spec in specs})
    for row in result.rows:
        metric = row[index["metric"]]
        value = _number(row[index["value"]])
        if metric == NOW_ROW:
            rows.now_seen, rows.as_of = True, value
            continue
        if metric == FOLDED_ROW:
            rows.folded.append(_folded(row, index, result.statement_id))
            continue
        spec = by_name.get(str(metric))
        if spec is None:
            rows.unexpected.add(str(metric))
            continue
        if value is None:
            rows.rejected.add(spec.name)
            continue
        key = _labels(spec, row, index, sources)
        series = rows.values[spec.name]
        if key in series:
            rows.duplicates += 1
            value = series[key] + value if spec.type == "counter" else value
        series[key] = value
    return rows


def _check_now(collector: str, rows: _Rows, statement_id: str) -> float:
    """The `__now__` row must be there with a number, or the whole result is suspect."""
    if not rows.now_seen:
        raise ResultError(
            f"{collector}: result has no {NOW_ROW} row (empty or truncated result)",
            statement_id=statement_id,
        )
    if rows.as_of is None:
        raise ResultError(
            f"{collector}: the {NOW_ROW} row has no numeric value (NULL, NaN or text)",
            statement_id=statement_id,
        )
    return rows.as_of


def _log_anomalies(collector: str, rows: _Rows) -> None:
    """One line per kind of anomaly in an otherwise usable result."""
    if rows.unexpected:
        names = sorted(rows.unexpected)
        log.warning(
            "unexpected metric names in result, rows skipped",
            collector=collector,
            metrics=", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else ""),
        )
    if rows.duplicates:
        log.warning("duplicate series in result", collector=collector, rows=rows.duplicates)
    for name in sorted(rows.rejected):
        log.warning(
            "metric withheld: non-numeric, NULL or NaN value", collector=collector, metric=name
        )


def build_families(
    collector: str,
    specs: tuple[MetricSpec, ...],
    result: StatementResult,
    sources: LabelSources = PLAIN,
    *,
    drilldown: bool = False,
) -> CollectorData:
    """Map long-format rows onto families; reject only the metrics whose rows are unusable."""
    _require_columns(collector, specs, result, sources)
    rows = _read_rows(collector, specs, result, sources)
    as_of = _check_now(collector, rows, result.statement_id)
    _log_anomalies(collector, rows)
    families = []
    series_count = 0
    for spec in specs:
        if spec.name in rows.rejected:
            continue
        family = _family(spec)
        for key in sorted(rows.values[spec.name]):
            family.add_metric(list(key), rows.values[spec.name][key])
        series_count += len(rows.values[spec.name])
        families.append(family)
    folded = tuple(rows.folded) if drilldown else None
    return CollectorData(tuple(families), as_of, series_count, tuple(sorted(rows.rejected)), folded)


#: Labels derived from the row's other labels, made afresh for each result: a drill-down's
#: entity names come from the names read last, so they are looked up when a result is built.
Derivations = Callable[[], Mapping[str, Derive]]


def no_derivations() -> Mapping[str, Derive]:
    """Every label is read from a result column."""
    return {}


class StatementCollector:
    """A metric domain's collector: one statement from its `.sql` file, rows -> families.

    A domain module subclasses it with its name and tables and passes in what its settings
    make of it: the specs, the SQL file, the parameters and, with a drill-down on, where the
    drilled labels come from.
    """

    name: str
    tables: tuple[str, ...]

    def __init__(
        self,
        metrics: tuple[MetricSpec, ...],
        sql_file: str,
        parameters: Mapping[str, Parameter],
        *,
        drilldown: bool = False,
        columns: Mapping[str, str] | None = None,
        derived: Derivations = no_derivations,
    ) -> None:
        self.metrics = metrics
        sql = load_sql(__name__.rpartition(".")[0], sql_file)
        self._statement = Statement(sql, dict(parameters))
        self._drilldown = drilldown
        self._columns = dict(columns or {})
        self._derived = derived

    def statement(self) -> Statement:
        """The one statement this collector sends per refresh."""
        return self._statement

    def build(self, result: StatementResult) -> CollectorData:
        """Long-format rows to families (with a drill-down, its folded counts too)."""
        sources = LabelSources(self._columns, self._derived())
        return build_families(self.name, self.metrics, result, sources, drilldown=self._drilldown)
