"""Turn JSON_ARRAY cells (strings or null) into Python values by the manifest's `type_name`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from databricks_exporter.warehouse.errors import ResultError
from databricks_exporter.warehouse.result import Column, Value

_INTEGERS = frozenset({"LONG", "INT", "SHORT", "BYTE"})
_FLOATS = frozenset({"DOUBLE", "FLOAT", "DECIMAL"})


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"not a boolean: {text!r}")
    return lowered == "true"


def _null(_text: str) -> None:
    return None


def converter(type_name: str) -> Callable[[str], Value]:
    """The function that converts one non-null cell of a column typed `type_name`."""
    if type_name in _INTEGERS:
        return int
    if type_name in _FLOATS:
        return float  # DECIMAL too: metric values are floats in the end
    if type_name == "BOOLEAN":
        return _boolean
    if type_name == "NULL":
        return _null
    return str  # STRING, DATE, TIMESTAMP, INTERVAL, complex types: their text rendering


def convert_rows(
    columns: Sequence[Column], data: Sequence[Sequence[Any]] | None, *, statement_id: str
) -> list[tuple[Value, ...]]:
    """Convert every row of one chunk; a cell that does not parse as its type is a ResultError."""
    converters = [converter(column.type_name) for column in columns]
    rows: list[tuple[Value, ...]] = []
    for number, row in enumerate(data or ()):
        if len(row) != len(converters):
            raise ResultError(
                f"row {number} has {len(row)} values for {len(converters)} columns",
                statement_id=statement_id,
            )
        rows.append(tuple(_cell(columns, converters, row, statement_id)))
    return rows


def _cell(
    columns: Sequence[Column],
    converters: Sequence[Callable[[str], Value]],
    row: Sequence[Any],
    statement_id: str,
) -> list[Value]:
    values: list[Value] = []
    for column, convert, cell in zip(columns, converters, row, strict=True):
        if cell is None:
            values.append(None)
            continue
        try:
            values.append(convert(str(cell)))
        except ValueError:
            raise ResultError(
                f"column {column.name!r} ({column.type_name}) holds {str(cell)[:40]!r}",
                statement_id=statement_id,
            ) from None
    return values
