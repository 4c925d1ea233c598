"""Damage a good result on purpose, so the exporter's handling of broken results can be tested."""

from __future__ import annotations

from dataclasses import replace

from databricks_exporter.sim.engine import ResultColumn, ResultTable, row_size
from databricks_exporter.sim.faults import CorruptFault
from databricks_exporter.sim.render import ColumnType

_STRING = ColumnType("STRING", "STRING")


def _rebuilt(
    table: ResultTable, columns: list[ResultColumn], rows: list[list[str | None]]
) -> ResultTable:
    sizes = [row_size(row) for row in rows]
    return ResultTable(columns, rows, sizes, table.truncated)


def _position(table: ResultTable, name: str) -> int | None:
    for position, column in enumerate(table.columns):
        if column.name == name:
            return position
    return None


def _set_values(table: ResultTable, position: int, value: str | None) -> list[list[str | None]]:
    out = []
    for row in table.rows:
        copy = list(row)
        if copy[position] is not None or value is None:
            copy[position] = value
        out.append(copy)
    return out


def corrupt(table: ResultTable, fault: CorruptFault) -> ResultTable:
    """`table` damaged as `fault.mode` says; unknown columns leave it as it was."""
    if fault.mode == "empty":
        return _rebuilt(table, table.columns, [])
    position = _position(table, fault.column)
    if position is None:
        return table
    columns = list(table.columns)
    if fault.mode == "drop_column":
        del columns[position]
        return _rebuilt(table, columns, [r[:position] + r[position + 1 :] for r in table.rows])
    if fault.mode == "drop_rows":
        kept = [row for row in table.rows if row[position] != fault.value]
        return _rebuilt(table, columns, kept)
    if fault.mode in ("wrong_type", "non_numeric"):
        columns[position] = replace(columns[position], type=_STRING)
    values = {"non_numeric": fault.value or "not-a-number", "nan": "NaN", "null": None}
    if fault.mode in values:
        return _rebuilt(table, columns, _set_values(table, position, values[fault.mode]))
    return _rebuilt(table, columns, table.rows)
