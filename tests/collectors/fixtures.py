"""Hand-built fixtures: insert rows by column name, run a collector, read its series back."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

import duckdb

from collectors.sqlrun import run
from databricks_exporter.collectors.base import Collector, CollectorData
from databricks_exporter.sim.translate import CATALOG
from reference import Expected, Labels, from_samples

#: The frozen clock of the hand-built fixtures.
NOW = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC)


def at(text: str) -> dt.datetime:
    """A naive UTC timestamp like the tables hold: `at("11-25 09:30")` or a full ISO text."""
    if len(text) <= 14:
        text = f"2026-{text}"
    return dt.datetime.fromisoformat(text)


def hours_before(hours: float) -> dt.datetime:
    """`NOW` minus some hours, naive UTC."""
    return NOW.replace(tzinfo=None) - dt.timedelta(hours=hours)


def insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, object]]
) -> None:
    """Insert rows into `system.<schema>.<table>`, naming only the columns given."""
    _, schema, name = table.split(".")
    batches: dict[tuple[str, ...], list[Mapping[str, object]]] = defaultdict(list)
    for row in rows:
        batches[tuple(row)].append(row)
    for columns, batch in batches.items():
        for first in range(0, len(batch), 500):
            chunk = batch[first : first + 500]
            marks = ", ".join("(" + ", ".join("?" for _ in columns) + ")" for _ in chunk)
            con.execute(
                f"INSERT INTO {CATALOG}.{schema}.{name} ({', '.join(columns)}) VALUES {marks}",
                [row[column] for row in chunk for column in columns],
            )


def collect(
    con: duckdb.DuckDBPyConnection, collector: Collector, now: dt.datetime = NOW
) -> CollectorData:
    """Run the collector's statement on the database and build its families."""
    return collector.build(run(con, collector.statement(), now))


def series(data: CollectorData) -> Expected:
    """The collector's families as `{metric: {labels: value}}`, every family present."""
    result: Expected = {_sample_name(family.name, family.type): {} for family in data.families}
    result.update(from_samples(s for family in data.families for s in family.samples))
    return result


def _sample_name(family: str, kind: str) -> str:
    return f"{family}_total" if kind == "counter" else family


def by_key(values: Mapping[Labels, float], *names: str) -> dict[tuple[str, ...], float]:
    """Series keyed by the values of `names`, for literal expectations in tests."""
    return {tuple(dict(key)[name] for name in names): value for key, value in values.items()}
