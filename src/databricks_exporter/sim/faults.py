"""Fault injection: what can go wrong, parsed from JSON or `--fault` flags, switched at run time.

The JSON shape (`POST /admin/faults` replaces the whole set, `PATCH` merges top-level keys,
`null` removes one; `{}` clears everything):

    {"token": {"status": 401 | 500, "delay": 0.0, "count": null},
     "api": {"status": 401 | 403 | 429 | 503, "retry_after": 1, "count": null},
     "hidden_tables": ["system.billing.usage"],
     "denied_tables": ["system.query.history"],
     "warehouse_stopped": {"seconds": 5},
     "slow_statements": {"seconds": 3, "count": null, "tags": {"collector": "jobs"}},
     "reset_connections": {"count": 1, "scope": "api" | "token" | "all"},
     "corrupt": {"mode": "drop_column" | "non_numeric" | "wrong_type" | "nan" | "null"
                         | "empty" | "drop_rows",
                 "column": "value", "value": null, "count": null, "tags": {}}}

`count` limits a fault to the next N matching requests or statements (null: until switched
off). `tags` restricts a statement fault to statements whose `query_tags` hold all those pairs.
`warehouse_stopped` is consumed by the next statement, which starts the warehouse: statements
stay PENDING until it is up, `seconds` later.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

TOKEN_STATUSES = (401, 500)
API_STATUSES = (401, 403, 429, 503)
RESET_SCOPES = ("api", "token", "all")
CORRUPT_MODES = ("drop_column", "non_numeric", "wrong_type", "nan", "null", "empty", "drop_rows")


class FaultError(ValueError):
    """A fault specification that does not parse."""


@dataclass(frozen=True)
class TokenFault:
    """The token endpoint fails with `status` and/or answers after `delay` seconds."""

    status: int | None = None
    delay: float = 0.0
    count: int | None = None


@dataclass(frozen=True)
class ApiFault:
    """API calls get an HTTP error in Databricks' JSON; 429/503 carry Retry-After."""

    status: int
    retry_after: int = 1
    count: int | None = None


@dataclass(frozen=True)
class SlowFault:
    """Statements stay RUNNING `seconds` longer than DuckDB needs (cancellable)."""

    seconds: float
    count: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetFault:
    """The TCP connection is aborted instead of answered."""

    count: int | None = 1
    scope: str = "api"


@dataclass(frozen=True)
class CorruptFault:
    """A successful result is damaged before it is served."""

    mode: str
    column: str = "value"
    value: str | None = None
    count: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultSpec:
    """Every fault that can be switched on at once."""

    token: TokenFault | None = None
    api: ApiFault | None = None
    hidden_tables: frozenset[str] = frozenset()
    denied_tables: frozenset[str] = frozenset()
    warehouse_stopped: float | None = None
    slow_statements: SlowFault | None = None
    reset_connections: ResetFault | None = None
    corrupt: CorruptFault | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultSpec:
        """Parse the JSON shape in this module's docstring; raise FaultError when wrong."""
        return _parse_spec(data)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of this spec (remaining counts included)."""
        return _spec_json(self)


def _object(data: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise FaultError(f"{key}: expected a JSON object")
    return data


def _number(block: Mapping[str, Any], key: str, default: float | None, where: str) -> float | None:
    value = block.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultError(f"{where}.{key}: expected a number >= 0, got {value!r}")
    return float(value)


def _count(block: Mapping[str, Any], where: str, default: int | None = None) -> int | None:
    value = block.get("count", default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FaultError(f"{where}.count: expected an integer >= 1 or null, got {value!r}")
    return value


def _tags(block: Mapping[str, Any], where: str) -> dict[str, str]:
    tags = block.get("tags") or {}
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise FaultError(f"{where}.tags: expected an object of strings")
    return {str(k): v for k, v in tags.items()}


def _choice(value: Any, allowed: tuple[Any, ...], where: str) -> Any:
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise FaultError(f"{where}: expected one of {shown}, got {value!r}")
    return value


def _tables(data: Any, where: str) -> frozenset[str]:
    if data is None:
        return frozenset()
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
        raise FaultError(f"{where}: expected a list of table names")
    return frozenset(t.strip().lower() for t in data)


def _token(data: Any) -> TokenFault:
    block = _object(data, "token")
    status = block.get("status")
    if status is not None:
        _choice(status, TOKEN_STATUSES, "token.status")
    delay = _number(block, "delay", 0.0, "token") or 0.0
    if status is None and delay == 0:
        raise FaultError("token: give a status (401, 500) and/or a delay in seconds")
    return TokenFault(status, delay, _count(block, "token"))


def _api(data: Any) -> ApiFault:
    block = _object(data, "api")
    status = _choice(block.get("status"), API_STATUSES, "api.status")
    retry_after = block.get("retry_after", 1)
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        raise FaultError(f"api.retry_after: expected whole seconds >= 0, got {retry_after!r}")
    return ApiFault(status, retry_after, _count(block, "api"))


def _seconds(data: Any, where: str) -> float:
    block = {"seconds": data} if isinstance(data, int | float) else _object(data, where)
    seconds = _number(block, "seconds", None, where)
    if seconds is None:
        raise FaultError(f"{where}.seconds: required")
    return seconds


def _slow(data: Any) -> SlowFault:
    block = {"seconds": data} if isinstance(data, int | float) else _object(data, "slow")
    seconds = _seconds(block, "slow_statements")
    return SlowFault(seconds, _count(block, "slow_statements"), _tags(block, "slow_statements"))


def _reset(data: Any) -> ResetFault:
    block = {"count": data} if isinstance(data, int) else _object(data, "reset_connections")
    scope = _choice(block.get("scope", "api"), RESET_SCOPES, "reset_connections.scope")
    return ResetFault(_count(block, "reset_connections", 1), scope)


def _corrupt(data: Any) -> CorruptFault:
    block = _object(data, "corrupt")
    mode = _choice(block.get("mode"), CORRUPT_MODES, "corrupt.mode")
    column = block.get("column", "value")
    value = block.get("value")
    if not isinstance(column, str) or (value is not None and not isinstance(value, str)):
        raise FaultError("corrupt.column and corrupt.value: expected strings")
    return CorruptFault(mode, column, value, _count(block, "corrupt"), _tags(block, "corrupt"))


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "token": _token,
    "api": _api,
    "warehouse_stopped": lambda data: _seconds(data, "warehouse_stopped"),
    "slow_statements": _slow,
    "reset_connections": _reset,
    "corrupt": _corrupt,
    "hidden_tables": lambda data: _tables(data, "hidden_tables"),
    "denied_tables": lambda data: _tables(data, "denied_tables"),
}


def _parse_spec(data: Mapping[str, Any]) -> FaultSpec:
    unknown = sorted(set(_object(data, "faults")) - _PARSERS.keys())
    if unknown:
        raise FaultError(f"unknown fault {unknown[0]!r}; known: {', '.join(sorted(_PARSERS))}")
    parsed: dict[str, Any] = {
        key: _PARSERS[key](value) for key, value in data.items() if value is not None
    }
    return FaultSpec(**parsed)


def _spec_json(spec: FaultSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _PARSERS:
        value = getattr(spec, key)
        if isinstance(value, frozenset):
            if value:
                out[key] = sorted(value)
        elif isinstance(value, float):
            out[key] = {"seconds": value}
        elif value is not None:
            out[key] = {
                k: (dict(v) if isinstance(v, Mapping) else v) for k, v in vars(value).items()
            }
    return out


def merge(spec: FaultSpec, data: Mapping[str, Any]) -> FaultSpec:
    """`spec` with the top-level keys of `data` replaced (a null value switches one off)."""
    current = spec.to_json()
    current.update(_object(data, "faults"))
    return _parse_spec({k: v for k, v in current.items() if v is not None})


def decrement(count: int | None) -> tuple[bool, int | None]:
    """Whether a counted fault survives one more use, and its new count."""
    if count is None:
        return True, None
    return count > 1, count - 1


def with_count(fault: Any, count: int | None) -> Any:
    """A copy of a frozen fault with a new remaining count."""
    return replace(fault, count=count)


_FLAG_KEYS = {
    "token": ("token", "status"),
    "token-delay": ("token", "delay"),
    "api": ("api", "status"),
    "stopped": ("warehouse_stopped", "seconds"),
    "slow": ("slow_statements", "seconds"),
    "reset": ("reset_connections", "count"),
    "corrupt": ("corrupt", "mode"),
}


def _flag_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def parse_flag(flag: str, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add one `--fault NAME=VALUE[,key=value...]` (or a JSON object) to a fault JSON dict."""
    data: dict[str, Any] = dict(into or {})
    if flag.lstrip().startswith("{"):
        try:
            data.update(json.loads(flag))
        except json.JSONDecodeError as error:
            raise FaultError(f"--fault JSON: {error}") from None
        return data
    head, *options = flag.split(",")
    name, sep, value = head.partition("=")
    name = name.strip().lower()
    if not sep:
        raise FaultError(f"--fault {flag!r}: expected NAME=VALUE")
    if name in ("hidden", "denied"):
        key = f"{name}_tables"
        data[key] = [*data.get(key, []), value.strip()]
        return data
    if name not in _FLAG_KEYS:
        known = ", ".join(sorted([*_FLAG_KEYS, "hidden", "denied"]))
        raise FaultError(f"--fault {flag!r}: unknown fault {name!r}; known: {known}")
    key, field_name = _FLAG_KEYS[name]
    block = dict(data.get(key) or {})
    block[field_name] = _flag_value(value.strip())
    for option in options:
        opt, sep, opt_value = option.partition("=")
        if not sep:
            raise FaultError(f"--fault {flag!r}: expected key=value after the comma")
        block[opt.strip()] = _flag_value(opt_value.strip())
    data[key] = block
    return data


class Faults:
    """The faults in force, switched from any thread; the server consumes counted ones."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self._lock = threading.Lock()
        self._spec = spec or FaultSpec()

    @property
    def spec(self) -> FaultSpec:
        """The faults in force now."""
        with self._lock:
            return self._spec

    def set(self, spec: FaultSpec | Mapping[str, Any]) -> None:
        """Replace every fault (same as `POST /admin/faults`)."""
        parsed = spec if isinstance(spec, FaultSpec) else FaultSpec.from_json(spec)
        with self._lock:
            self._spec = parsed

    def update(self, data: Mapping[str, Any]) -> None:
        """Replace only the given top-level keys (same as `PATCH /admin/faults`)."""
        with self._lock:
            self._spec = merge(self._spec, data)

    def clear(self) -> None:
        """Switch every fault off."""
        self.set(FaultSpec())

    def take(self, key: str, tags: Mapping[str, str] | None = None) -> Any:
        """The fault under `key` if it applies to this use, consuming one from its count."""
        with self._lock:
            fault = getattr(self._spec, key)
            if fault is None or not _tags_match(fault, tags):
                return None
            if key == "warehouse_stopped":
                self._spec = replace(self._spec, warehouse_stopped=None)
                return fault
            survives, count = decrement(fault.count)
            changes: dict[str, Any] = {key: with_count(fault, count) if survives else None}
            self._spec = replace(self._spec, **changes)
            return fault


def _tags_match(fault: Any, tags: Mapping[str, str] | None) -> bool:
    wanted: Mapping[str, str] = getattr(fault, "tags", {}) or {}
    have = tags or {}
    return all(have.get(k) == v for k, v in wanted.items())
