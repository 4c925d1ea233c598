"""Entity names for the drill-down labels, read rarely and shared with the data collectors.

Series: none. A `NamesCollector` runs on the scheduler like a collector (every
`--drilldown.names-interval`, 1h by default; its refresh outcome shows in the self-metrics as
collector `job_names`, `pipeline_names` or `warehouse_names`). Its statement (`names.sql`, one
shape for every kind, the kind's table and columns filled in) returns the latest name of every
job, pipeline or SQL warehouse, and its `build` replaces that kind's names in the shared
`NameDirectory`, which the data collectors read when they build their families. The
data statements never join the name tables.

Resolution, per (workspace_id, id): the latest non-empty name (a renamed entity shows its new
name, a deleted one its last); an entity without a name row shows as `job-<id>`,
`pipeline-<id>` or `warehouse-<id>`. Until the names of a kind were read once (not yet, or the
table is not readable), its names are `unknown`. A failed refresh keeps the names last read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template
from types import MappingProxyType

from databricks_exporter.collectors.base import (
    NOW_ROW,
    OTHER,
    UNKNOWN,
    CollectorData,
    MetricSpec,
    load_sql,
    seconds_parameter,
)
from databricks_exporter.logs import get_logger
from databricks_exporter.settings import Windows, names_collector
from databricks_exporter.warehouse.errors import ResultError
from databricks_exporter.warehouse.result import Statement, StatementResult, Value

log = get_logger("names")

#: How long a data collector's first build waits for the first names of its kind. The names
#: statement is tiny and starts with the data statement, so it is normally done long before;
#: past this the names are `unknown` until the next data refresh after they arrive.
FIRST_LOAD_WAIT = 20.0
#: Slack added to the longest window for the deleted-entity horizon (usage dates are whole days).
_HORIZON_SLACK = 2 * 86400


@dataclass(frozen=True)
class Kind:
    """One kind of named entity: where its names are and how a nameless one is shown."""

    name: str
    table: str
    #: A nameless entity is shown as `<prefix>-<id>`; its labels are `<prefix>_id` and
    #: `<prefix>_name`.
    prefix: str
    id_column: str
    name_column: str

    def sql(self, template: str) -> str:
        """`names.sql` for this kind (the table and columns are identifiers, not parameters)."""
        return Template(template).substitute(
            table=self.table, id_column=self.id_column, name_column=self.name_column
        )


KINDS: Mapping[str, Kind] = {
    "jobs": Kind("jobs", "system.lakeflow.jobs", "job", "job_id", "name"),
    "pipelines": Kind("pipelines", "system.lakeflow.pipelines", "pipeline", "pipeline_id", "name"),
    "warehouses": Kind(
        "warehouses", "system.compute.warehouses", "warehouse", "warehouse_id", "warehouse_name"
    ),
}

NameKey = tuple[str, str]


@dataclass(frozen=True)
class Names:
    """A consistent view of one kind's names at one moment."""

    kind: Kind
    loaded: bool
    by_id: Mapping[NameKey, str] = field(default_factory=dict)

    def resolve(self, workspace_id: str, entity_id: str) -> str:
        """The name label of an entity (ids already as label text)."""
        if entity_id in (OTHER, UNKNOWN):
            return entity_id
        if not self.loaded:
            return UNKNOWN
        return self.by_id.get((workspace_id, entity_id), f"{self.kind.prefix}-{entity_id}")


class NameDirectory:
    """The latest names of every kind, replaced whole by the names runners; thread-safe."""

    def __init__(self, first_load_wait: float | None = None) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, Names] = {k: Names(kind, False) for k, kind in KINDS.items()}
        self._loaded = {kind: threading.Event() for kind in KINDS}
        self._waited: set[tuple[str, str]] = set()
        self._first_load_wait = FIRST_LOAD_WAIT if first_load_wait is None else first_load_wait

    def replace(self, kind: str, by_id: Mapping[NameKey, str]) -> None:
        """Swap in a fresh set of names of `kind`."""
        names = Names(KINDS[kind], True, MappingProxyType(dict(by_id)))
        with self._lock:
            self._names[kind] = names
        self._loaded[kind].set()

    def names(self, kind: str, reader: str = "") -> Names:
        """The names of `kind`; a reader's first call waits (bounded) for them to be read."""
        with self._lock:
            wait = (kind, reader) not in self._waited
            self._waited.add((kind, reader))
        if wait and not self._loaded[kind].wait(self._first_load_wait):
            log.warning(
                "names not read yet; the name labels are unknown until they are",
                kind=kind,
                collector=reader,
                table=KINDS[kind].table,
            )
        with self._lock:
            return self._names[kind]


def deleted_horizon(windows: Windows) -> float:
    """Entities deleted longer ago than this cannot be active in any window."""
    longest = max(
        windows.billing_lookback,
        windows.jobs_lookback + windows.run_history,
        windows.pipelines_lookback + windows.run_history,
        windows.pipelines_freshness_horizon,
        windows.queries_lookback,
    )
    return longest + _HORIZON_SLACK


class NamesCollector:
    """Reads the latest names of one kind of entity into the shared directory."""

    metrics: tuple[MetricSpec, ...] = ()

    def __init__(self, kind: str, windows: Windows, directory: NameDirectory) -> None:
        self._kind = KINDS[kind]
        self.name: str = names_collector(kind)
        self.tables: tuple[str, ...] = (self._kind.table,)
        self._directory = directory
        self._statement = Statement(
            self._kind.sql(load_sql(__name__.rpartition(".")[0], "names.sql")),
            {"deleted_horizon_seconds": seconds_parameter(deleted_horizon(windows))},
        )

    def statement(self) -> Statement:
        """The names statement of this kind."""
        return self._statement

    def build(self, result: StatementResult) -> CollectorData:
        """Replace this kind's names in the directory; no families."""
        index = result.column_index()
        missing = {"metric", "workspace_id", "entity_id", "name", "value"} - index.keys()
        if missing:
            raise ResultError(
                f"{self.name}: result lacks column(s) {', '.join(sorted(missing))}",
                statement_id=result.statement_id,
            )
        as_of: float | None = None
        names: dict[NameKey, str] = {}
        for row in result.rows:
            if row[index["metric"]] == NOW_ROW:
                as_of = _seconds(row[index["value"]])
            elif row[index["name"]] is not None and row[index["entity_id"]] is not None:
                key = (_text(row[index["workspace_id"]]), _text(row[index["entity_id"]]))
                names[key] = str(row[index["name"]])
        if as_of is None:
            raise ResultError(
                f"{self.name}: result has no {NOW_ROW} row", statement_id=result.statement_id
            )
        self._directory.replace(self._kind.name, names)
        return CollectorData((), as_of, 0)


def _text(value: Value) -> str:
    return UNKNOWN if value is None else str(value)


def _seconds(value: Value) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except ValueError:
        return None
