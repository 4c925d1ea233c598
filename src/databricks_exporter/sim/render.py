"""DuckDB result types and values in the shapes Databricks' JSON_ARRAY results use."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

_SIMPLE: dict[str, tuple[str, str]] = {
    "boolean": ("BOOLEAN", "BOOLEAN"),
    "tinyint": ("BYTE", "TINYINT"),
    "smallint": ("SHORT", "SMALLINT"),
    "integer": ("INT", "INT"),
    "bigint": ("LONG", "BIGINT"),
    # DuckDB widens sums of BIGINT to HUGEINT; Databricks keeps BIGINT.
    "hugeint": ("LONG", "BIGINT"),
    "utinyint": ("SHORT", "SMALLINT"),
    "usmallint": ("INT", "INT"),
    "uinteger": ("LONG", "BIGINT"),
    "ubigint": ("LONG", "BIGINT"),
    "uhugeint": ("LONG", "BIGINT"),
    "float": ("FLOAT", "FLOAT"),
    "double": ("DOUBLE", "DOUBLE"),
    "varchar": ("STRING", "STRING"),
    "uuid": ("STRING", "STRING"),
    "enum": ("STRING", "STRING"),
    "time": ("STRING", "STRING"),
    "date": ("DATE", "DATE"),
    "timestamp": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp with time zone": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp_ns": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp_ms": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp_s": ("TIMESTAMP", "TIMESTAMP"),
    "interval": ("INTERVAL", "INTERVAL DAY TO SECOND"),
    "blob": ("BINARY", "BINARY"),
    "null": ("NULL", "VOID"),
}


@dataclass(frozen=True)
class ColumnType:
    """A result column's type as the manifest reports it."""

    type_name: str
    type_text: str
    precision: int | None = None
    scale: int | None = None


def column_type(duck: Any) -> ColumnType:
    """Map a DuckDB type (`DuckDBPyType`) to Databricks' `type_name`/`type_text`."""
    kind = str(duck.id)
    if kind == "decimal":
        params = dict(duck.children)
        precision, scale = int(params["precision"]), int(params["scale"])
        return ColumnType("DECIMAL", f"DECIMAL({precision},{scale})", precision, scale)
    if kind in ("list", "array"):
        return ColumnType("ARRAY", f"ARRAY<{column_type(duck.children[0][1]).type_text}>")
    if kind == "map":
        key, value = (column_type(child).type_text for _, child in duck.children)
        return ColumnType("MAP", f"MAP<{key}, {value}>")
    if kind == "struct":
        fields = ", ".join(f"{n}: {column_type(t).type_text}" for n, t in duck.children)
        return ColumnType("STRUCT", f"STRUCT<{fields}>")
    name, text = _SIMPLE.get(kind, ("STRING", "STRING"))
    return ColumnType(name, text)


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _interval(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta() else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = f".{value.microseconds:06d}" if value.microseconds else ""
    body = f"{value.days} {hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"
    return f"INTERVAL '{sign}{body}' DAY TO SECOND"


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def render(value: Any) -> str | None:  # noqa: PLR0911
    """One cell as Databricks' JSON_ARRAY sends it: a string, or None for SQL NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _interval(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict | list | tuple):
        return _nested(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _nested(value: Any) -> str:  # noqa: PLR0911
    """Arrays, maps and structs as compact JSON, the way Databricks renders them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = _float(value)
        return text if math.isfinite(value) else json.dumps(text)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{_nested(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_nested(item) for item in value) + "]"
    return json.dumps(render(value), ensure_ascii=False)
