"""Run a collector `Statement` on a DuckDB database the way the simulated workspace does.

The statement goes through `translate` (Databricks SQL -> DuckDB, the clock frozen at `now`)
and `bind_parameters` (API parameters cast as Databricks would); the rows come back as a
`StatementResult` with values converted like the warehouse client converts them.
"""

from __future__ import annotations

import datetime as dt
import decimal
from importlib import resources
from typing import Any

import duckdb

from databricks_exporter.sim.translate import CATALOG, bind_parameters, translate
from databricks_exporter.warehouse.result import Column, Statement, StatementResult, Value

_TYPE_NAMES = {
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "FLOAT": "FLOAT",
    "BIGINT": "LONG",
    "INTEGER": "INT",
    "HUGEINT": "DECIMAL",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
}


def create_database() -> duckdb.DuckDBPyConnection:
    """An empty simulated workspace: UTC session, the system tables of `sim/schema.sql`."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(f"ATTACH ':memory:' AS {CATALOG}")
    schema = resources.files("databricks_exporter.sim").joinpath("schema.sql").read_text("utf-8")
    con.execute(schema)
    return con


def known_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The `system.<schema>.<table>` names the database holds."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]
    ).fetchall()
    return frozenset(f"system.{schema}.{table}" for schema, table in rows)


def _convert(value: Any) -> Value:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def run(con: duckdb.DuckDBPyConnection, statement: Statement, now: dt.datetime) -> StatementResult:
    """Execute `statement` as of `now` and return its converted rows."""
    translated = translate(statement.sql, now=now, known_tables=known_tables(con))
    given = {
        name: (None if p.value is None else str(p.value), p.type)
        for name, p in statement.parameters.items()
    }
    cursor = con.execute(translated.sql, bind_parameters(translated.parameters, given))
    columns = tuple(
        Column(str(name), _TYPE_NAMES.get(str(type_code).split("(")[0], str(type_code)))
        for name, type_code, *_ in cursor.description
    )
    rows = tuple(tuple(_convert(value) for value in row) for row in cursor.fetchall())
    return StatementResult("duckdb", columns, rows)
