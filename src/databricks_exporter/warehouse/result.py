"""What a statement returns once its values are converted by the manifest's types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: Python values a cell can hold after conversion by its column's `type_name`.
Value = str | int | float | bool | None

#: Databricks parameter types we send (the API checks the value as if by CAST).
ParamType = Literal["STRING", "INT", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "DATE"]


@dataclass(frozen=True)
class Parameter:
    """A named parameter marker value (`:name` in the statement)."""

    value: str | int | float | bool | None
    type: ParamType = "STRING"


@dataclass(frozen=True)
class Statement:
    """A statement to run: Databricks SQL text and its named parameters."""

    sql: str
    parameters: Mapping[str, Parameter] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """One result column as the manifest describes it."""

    name: str
    type_name: str


@dataclass(frozen=True)
class StatementResult:
    """The rows of a finished statement, every chunk fetched, values converted."""

    statement_id: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    truncated: bool = False

    def column_index(self) -> dict[str, int]:
        """Map each column name to its position."""
        return {column.name: position for position, column in enumerate(self.columns)}
