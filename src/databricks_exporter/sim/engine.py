"""DuckDB execution for the simulated warehouse: off the event loop, one cursor per statement."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb

from databricks_exporter.sim.render import ColumnType, column_type, render
from databricks_exporter.sim.translate import CATALOG, SqlError

T = TypeVar("T")

#: Databricks fails an INLINE statement whose result is larger than this.
INLINE_LIMIT_BYTES = 25 * 1024 * 1024
_BATCH_ROWS = 2048


class InlineLimitError(Exception):
    """The result does not fit the INLINE disposition."""


class Interrupted(Exception):
    """The statement was cancelled while DuckDB ran it."""


@dataclass(frozen=True)
class ResultColumn:
    """One column of a result, by name and Databricks type."""

    name: str
    type: ColumnType


@dataclass
class ResultTable:
    """Rendered rows (strings or None), each row's JSON size, and whether a limit cut it."""

    columns: list[ResultColumn]
    rows: list[list[str | None]] = field(default_factory=list)
    row_bytes: list[int] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True)
class Limits:
    """`row_limit` and `byte_limit` from the request; None when not given."""

    row_limit: int | None = None
    byte_limit: int | None = None


def row_size(row: list[str | None]) -> int:
    """The bytes one row takes in the JSON_ARRAY result."""
    return len(json.dumps(row, ensure_ascii=False).encode())


_ERROR_CLASSES: tuple[tuple[type[duckdb.Error], str, str, str], ...] = (
    (duckdb.ParserException, "", "PARSE_SYNTAX_ERROR", "42601"),
    (duckdb.PermissionException, "", "INSUFFICIENT_PERMISSIONS", "42501"),
    (duckdb.BinderException, "Referenced column", "UNRESOLVED_COLUMN.WITH_SUGGESTION", "42703"),
    (duckdb.BinderException, "function", "UNRESOLVED_ROUTINE", "42883"),
    (duckdb.CatalogException, "Function", "UNRESOLVED_ROUTINE", "42883"),
    (duckdb.CatalogException, "", "TABLE_OR_VIEW_NOT_FOUND", "42P01"),
    (duckdb.BinderException, "", "DATATYPE_MISMATCH", "42K09"),
    (duckdb.Error, "Division by zero", "DIVIDE_BY_ZERO", "22012"),
    (duckdb.ConversionException, "", "CAST_INVALID_INPUT", "22018"),
    (duckdb.OutOfRangeException, "", "NUMERIC_VALUE_OUT_OF_RANGE", "22003"),
    (duckdb.InvalidInputException, "", "INVALID_PARAMETER_VALUE", "22023"),
)


def sql_error(error: duckdb.Error) -> SqlError:
    """A DuckDB error in Databricks' words (error class and SQLSTATE)."""
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    for kind, needle, error_class, sql_state in _ERROR_CLASSES:
        if isinstance(error, kind) and needle.lower() in text.lower():
            return SqlError(error_class, sql_state, first_line)
    return SqlError("INTERNAL_ERROR", "XX000", first_line)


class Execution:
    """One statement's own DuckDB cursor, which cancel can interrupt from another thread."""

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, on_finish: Callable[[float], None]
    ) -> None:
        self._cursor = cursor
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._canceled = False
        self._closed = False
        self.seconds = 0.0

    @property
    def canceled(self) -> bool:
        """Whether cancel was asked for."""
        return self._canceled

    def cancel(self) -> None:
        """Stop DuckDB if it is running this statement; later steps see the flag."""
        with self._lock:
            self._canceled = True
            if not self._closed:
                self._cursor.interrupt()

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            self._cursor.close()

    def run(self, sql: str, params: Mapping[str, object], limits: Limits) -> ResultTable:
        """Execute and fetch within the limits, then release the cursor (blocking; a worker)."""
        started = time.perf_counter()
        try:
            return self._run(sql, params, limits)
        finally:
            self._close()
            self.seconds = time.perf_counter() - started
            self._on_finish(self.seconds)

    def _run(self, sql: str, params: Mapping[str, object], limits: Limits) -> ResultTable:
        if self._canceled:
            raise Interrupted
        try:
            self._cursor.execute(sql, dict(params) if params else None)
            description = self._cursor.description or []
            columns = [ResultColumn(d[0], column_type(d[1])) for d in description]
            table = ResultTable(columns)
            if columns:
                self._fetch(table, limits)
        except duckdb.InterruptException:
            raise Interrupted from None
        except duckdb.Error as error:
            if self._canceled:
                raise Interrupted from None
            raise sql_error(error) from None
        return table

    def _fetch(self, table: ResultTable, limits: Limits) -> None:
        total = 0
        while batch := self._cursor.fetchmany(_BATCH_ROWS):
            if self._canceled:
                raise Interrupted
            for raw in batch:
                if limits.row_limit is not None and len(table.rows) >= limits.row_limit:
                    table.truncated = True
                    return
                row = [render(value) for value in raw]
                size = row_size(row)
                if limits.byte_limit is not None and total + size > limits.byte_limit:
                    table.truncated = True
                    return
                total += size
                if total > INLINE_LIMIT_BYTES:
                    raise InlineLimitError
                table.rows.append(row)
                table.row_bytes.append(size)


class Engine:
    """The warehouse's SQL engine: a DuckDB database and a pool of worker threads."""

    def __init__(self, con: duckdb.DuckDBPyConnection, workers: int = 8) -> None:
        self._con = con
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dsim-engine")
        self._tables: frozenset[str] | None = None
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        # Statements come over HTTP: no files, no extensions, no settings changed by SQL.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor (its own DuckDB connection to the same database)."""
        with self._lock:
            return self._con.cursor()

    def execution(self, on_finish: Callable[[float], None]) -> Execution:
        """A cursor wrapped for one statement; `on_finish` gets the engine seconds it used."""
        return Execution(self.cursor(), on_finish)

    def known_tables(self) -> frozenset[str]:
        """`system.<schema>.<table>` for every table of the simulated catalog."""
        if self._tables is None:
            with self._lock:
                rows = self._con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
                    [CATALOG],
                ).fetchall()
            self._tables = frozenset(f"system.{s}.{t}".lower() for s, t in rows)
        return self._tables

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking `function` on a worker thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, function, *args)

    def shutdown(self) -> None:
        """Stop the workers (running statements are interrupted by their owners first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
