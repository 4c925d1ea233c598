"""Statement requests, their lifecycle record and the JSON the Statement Execution API returns."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from databricks_exporter.sim.engine import Execution, Limits, ResultTable

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"})
MAX_STATEMENT_BYTES = 16 * 1024 * 1024
MAX_QUERY_TAGS = 20
_WAIT = re.compile(r"^(\d{1,3})s$")


class RequestError(Exception):
    """A request the API refuses before running anything (HTTP 4xx, Databricks error JSON)."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _invalid(message: str) -> RequestError:
    return RequestError(400, "INVALID_PARAMETER_VALUE", message)


@dataclass(frozen=True)
class StatementRequest:
    """A validated `POST /api/2.0/sql/statements` body."""

    statement: str
    warehouse_id: str
    wait_timeout: int = 10
    on_wait_timeout: str = "CONTINUE"
    parameters: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    tags: Mapping[str, str] = field(default_factory=dict)
    catalog: str | None = None
    schema: str | None = None
    client: str | None = None


def _wait_timeout(value: Any) -> int:
    match = _WAIT.match(value) if isinstance(value, str) else None
    seconds = int(match.group(1)) if match else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise _invalid(f"wait_timeout must be 0s or between 5s and 50s (got {value!r}).")
    return seconds


def _choice(body: Mapping[str, Any], key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = body.get(key) or default
    if value not in allowed:
        raise _invalid(f"{key} must be one of {', '.join(allowed)} (got {value!r}).")
    return str(value)


def _disposition(body: Mapping[str, Any]) -> None:
    disposition = body.get("disposition") or "INLINE"
    result_format = body.get("format") or "JSON_ARRAY"
    if disposition == "EXTERNAL_LINKS":
        raise _invalid(
            "disposition EXTERNAL_LINKS is not supported by the simulated workspace; "
            "use INLINE with format JSON_ARRAY."
        )
    if disposition != "INLINE":
        raise _invalid(f"disposition must be INLINE or EXTERNAL_LINKS (got {disposition!r}).")
    if result_format != "JSON_ARRAY":
        raise _invalid(
            f"format {result_format} requires the EXTERNAL_LINKS disposition, which the "
            "simulated workspace does not support; use INLINE with format JSON_ARRAY."
        )


def _limit(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(f"{key} must be a non-negative integer (got {value!r}).")
    return value


def _parameters(value: Any) -> dict[str, tuple[str | None, str]]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _invalid("parameters must be a list of {name, value, type} objects.")
    out: dict[str, tuple[str | None, str]] = {}
    for item in value:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise _invalid("every parameter needs a name.")
        raw, kind = item.get("value"), item.get("type") or "STRING"
        if not isinstance(kind, str) or (raw is not None and not isinstance(raw, str)):
            raise _invalid(f"parameter {name}: value and type must be strings.")
        out[name] = (raw, kind)
    return out


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _invalid("query_tags must be a list of {key, value} objects.")
    if len(value) > MAX_QUERY_TAGS:
        raise _invalid(f"at most {MAX_QUERY_TAGS} query_tags are allowed (got {len(value)}).")
    tags: dict[str, str] = {}
    for item in value:
        key = item.get("key") if isinstance(item, Mapping) else None
        if not isinstance(key, str) or not key:
            raise _invalid("every query tag needs a key.")
        tag_value = item.get("value")
        tags[key] = "" if tag_value is None else str(tag_value)
    return tags


def parse_request(body: Any, client: str | None = None) -> StatementRequest:
    """Validate an execute request body the way the API does, or raise RequestError."""
    if not isinstance(body, Mapping):
        raise RequestError(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
    statement, warehouse_id = body.get("statement"), body.get("warehouse_id")
    if not isinstance(statement, str) or not statement.strip():
        raise _invalid("statement is required.")
    if len(statement.encode()) > MAX_STATEMENT_BYTES:
        raise _invalid("statement is larger than 16 MiB.")
    if not isinstance(warehouse_id, str) or not warehouse_id:
        raise _invalid("warehouse_id is required.")
    _disposition(body)
    return StatementRequest(
        statement=statement,
        warehouse_id=warehouse_id,
        wait_timeout=_wait_timeout(body.get("wait_timeout") or "10s"),
        on_wait_timeout=_choice(body, "on_wait_timeout", "CONTINUE", ("CONTINUE", "CANCEL")),
        parameters=_parameters(body.get("parameters")),
        limits=Limits(_limit(body, "row_limit"), _limit(body, "byte_limit")),
        tags=_tags(body.get("query_tags")),
        catalog=body.get("catalog") or None,
        schema=body.get("schema") or None,
        client=client,
    )


@dataclass(frozen=True)
class StatementError:
    """`status.error` and `status.sql_state` of a FAILED statement."""

    error_code: str
    message: str
    sql_state: str | None = None


@dataclass(frozen=True)
class Chunk:
    """One piece of an INLINE result."""

    index: int
    row_offset: int
    row_count: int
    byte_count: int


def split_chunks(table: ResultTable, chunk_bytes: int) -> list[Chunk]:
    """Cut a result into chunks of at most `chunk_bytes` (at least one row each)."""
    chunks: list[Chunk] = []
    start, size = 0, 0
    for position, row_size in enumerate(table.row_bytes):
        if position > start and size + row_size > chunk_bytes:
            chunks.append(Chunk(len(chunks), start, position - start, size))
            start, size = position, 0
        size += row_size
    chunks.append(Chunk(len(chunks), start, len(table.row_bytes) - start, size))
    return chunks


def new_statement_id() -> str:
    """An id shaped like Databricks' (`01f0...-....`)."""
    return "01f1" + str(uuid.uuid4())[4:]


@dataclass(eq=False)
class Statement:
    """One statement's lifecycle: state, timing, outcome, result."""

    request: StatementRequest
    submitted_at: dt.datetime
    id: str = field(default_factory=new_statement_id)
    state: str = "PENDING"
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    started_at: dt.datetime | None = None
    compiled: float | None = None
    result: ResultTable | None = None
    chunks: list[Chunk] = field(default_factory=list)
    error: StatementError | None = None
    settling: bool = False
    cancel_requested: bool = False
    execution: Execution | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def terminal(self) -> bool:
        """Whether the statement has finished one way or another."""
        return self.state in TERMINAL


class StatementStore:
    """Recent statements by id: results close after `result_ttl`, records go after `purge_after`."""

    def __init__(
        self,
        result_ttl: float,
        purge_after: float,
        on_close: Callable[[Statement], None],
        max_kept: int = 20_000,
    ) -> None:
        self.result_ttl = result_ttl
        self._on_close = on_close
        self.purge_after = purge_after
        self._max_kept = max_kept
        self._items: OrderedDict[str, Statement] = OrderedDict()

    def add(self, statement: Statement) -> None:
        """Remember a new statement, forgetting the oldest finished ones past the cap."""
        self._items[statement.id] = statement
        while len(self._items) > self._max_kept:
            oldest = next(iter(self._items.values()))
            if not oldest.terminal:
                break
            self._items.popitem(last=False)

    def get(self, statement_id: str) -> Statement | None:
        """The statement, its result closed or the record purged if old enough."""
        statement = self._items.get(statement_id)
        if statement is None or statement.finished is None:
            return statement
        age = time.monotonic() - statement.finished
        if age >= self.purge_after:
            del self._items[statement_id]
            return None
        if statement.state == "SUCCEEDED" and age >= self.result_ttl:
            statement.state = "CLOSED"
            statement.result = None
            self._on_close(statement)
        return statement

    def recent(self, limit: int) -> list[Statement]:
        """The newest statements first."""
        return [self._items[key] for key in reversed(self._items)][:limit]

    def sweep(self) -> None:
        """Apply expiry to every statement, freeing old results."""
        for statement_id in list(self._items):
            self.get(statement_id)

    def all(self) -> list[Statement]:
        """Every remembered statement."""
        return list(self._items.values())
