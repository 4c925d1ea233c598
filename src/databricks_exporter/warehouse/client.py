"""The warehouse client: run one statement to completion within a deadline, or fail by type.

`execute` submits asynchronously (`wait_timeout=0s` by default, so the statement id is known
at once and can always be cancelled), polls PENDING/RUNNING with a growing interval, fetches
every chunk and converts values by the manifest's types. Every request is one SDK attempt;
retries happen here, inside the deadline: throttling waits for Retry-After (or fails at once
when that is past the deadline), network errors back off exponentially with jitter, an API 401
rebuilds the SDK client (fresh token, secret re-read) and tries once more. When the deadline
passes, or on `cancel_all`, the statement is cancelled on the warehouse (the cancel request is
sent again after a network error, a 5xx or a 429, so a blip does not leave it running). The
caller's next statement (same query tags) first waits for the cancelled one to end, cancelling
it again if need be, so one collector never has two statements on the warehouse at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import sql

from databricks_exporter import __version__
from databricks_exporter.logs import get_logger
from databricks_exporter.settings import Workspace
from databricks_exporter.warehouse import classify
from databricks_exporter.warehouse.auth import TokenSource
from databricks_exporter.warehouse.calls import Call, InFlight, Unended, request_deadline
from databricks_exporter.warehouse.cancel import cancel_statement
from databricks_exporter.warehouse.classify import Action, Verdict
from databricks_exporter.warehouse.convert import convert_rows
from databricks_exporter.warehouse.errors import (
    ConnectionFailedError,
    ResultError,
    ServerError,
    StatementCanceledError,
    StatementFailedError,
    StatementTimeoutError,
    ThrottledError,
)
from databricks_exporter.warehouse.result import Column, Statement, StatementResult, Value
from databricks_exporter.warehouse.sdk import build_client

log = get_logger("warehouse")
T = TypeVar("T")

APP_TAG = ("app", "databricks-exporter")
#: HTTP timeout = wait_timeout + this: a reply always comes before it, so no POST is resent.
HTTP_MARGIN = 10.0
#: Longest wait for the host-metadata probe while building the SDK client.
PROBE_TIMEOUT = 3.0
BACKOFF_FIRST, BACKOFF_CAP = 0.25, 8.0
THROTTLE_FLOOR = 1.0  # never retry a 429/503 sooner than this, whatever Retry-After says
POLL_GROWTH = 1.5
CANCEL_GRACE = 5.0
_RUNNING = (sql.StatementState.PENDING, sql.StatementState.RUNNING)


class WarehouseClient:
    """Runs statements on one SQL warehouse; safe to share between worker threads."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        statement_timeout: float,
        product: str = "databricks-exporter",
        version: str = __version__,
        wait_timeout_seconds: int = 0,
        poll_interval: float = 0.1,
        max_poll_interval: float = 5.0,
    ) -> None:
        if wait_timeout_seconds != 0 and not 5 <= wait_timeout_seconds <= 50:
            raise ValueError("wait_timeout_seconds must be 0 or between 5 and 50")
        if statement_timeout <= 0:
            raise ValueError("statement_timeout must be positive")
        self._workspace = workspace
        self._statement_timeout = statement_timeout
        self._product, self._version = product, version
        self._wait_timeout = wait_timeout_seconds
        self._http_timeout = wait_timeout_seconds + HTTP_MARGIN
        self._poll_interval, self._max_poll_interval = poll_interval, max_poll_interval
        self._lock = threading.Condition()
        self._build_lock = threading.Lock()
        self._sdk: tuple[WorkspaceClient, TokenSource] | None = None
        self._calls: set[Call] = set()
        self._unended = Unended()
        self._closed = False
        self._rng = random.Random()  # noqa: S311  (jitter, not cryptography)

    # ----- public ----------------------------------------------------------------------

    def execute(
        self,
        statement: Statement,
        *,
        tags: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> StatementResult:
        """Run `statement` to completion (blocking); raises a WarehouseError subclass."""
        limit = self._statement_timeout if timeout is None else timeout
        if limit <= 0:
            raise ValueError("timeout must be positive")
        call = Call(time.monotonic() + limit, dict(tags or {}))
        self._enter(call)
        try:
            return self._run(statement, call)
        except BaseException:
            self._abandon(call)
            raise
        finally:
            self._leave(call)

    def in_flight(self) -> list[InFlight]:
        """The statements running now, with their state and age (for self-metrics)."""
        with self._lock:
            return [call.view() for call in self._calls]

    def cancel_all(self, wait: float = CANCEL_GRACE) -> None:
        """Cancel every statement in flight and wait (up to `wait` s) for their calls to end."""
        with self._lock:
            calls = set(self._calls)
            for call in calls:
                call.cancel()
            self._lock.wait_for(lambda: not calls & self._calls, timeout=wait)

    def close(self) -> None:
        """Refuse new statements, cancel those in flight (without waiting), release connections."""
        with self._lock:
            self._closed = True
        self.cancel_all(wait=0)
        with self._lock:
            built, self._sdk = self._sdk, None
        if built is not None:
            built[1].close()

    # ----- one statement ---------------------------------------------------------------

    def _run(self, statement: Statement, call: Call) -> StatementResult:
        self._end_previous(call)
        submission = self._submission(statement, call)
        response = self._request(
            call, lambda w: w.statement_execution.execute_statement(**submission), submitting=True
        )
        call.statement_id, call.state = response.statement_id, _state_name(response)
        log.debug("statement submitted", statement_id=call.statement_id, tags=call.label)
        response = self._wait(call, response)
        result = self._collect(call, response)
        log.debug(
            "statement done",
            statement_id=call.statement_id,
            rows=len(result.rows),
            seconds=round(call.elapsed(), 3),
            polls=call.polls,
            tags=call.label,
        )
        return result

    def _submission(self, statement: Statement, call: Call) -> dict[str, Any]:
        if log.is_debug():
            text = " ".join(statement.sql.split())[:300]
            log.debug("statement", sql=text, parameters=",".join(statement.parameters))
        wait = self._wait_timeout if call.remaining() > self._wait_timeout + 1 else 0
        tags = {APP_TAG[0]: APP_TAG[1], **{k: v for k, v in call.tags.items() if k != APP_TAG[0]}}
        return {
            "statement": statement.sql,
            "warehouse_id": self._workspace.warehouse_id,
            "wait_timeout": f"{wait}s",
            "on_wait_timeout": sql.ExecuteStatementRequestOnWaitTimeout.CONTINUE,
            "disposition": sql.Disposition.INLINE,
            "format": sql.Format.JSON_ARRAY,
            "parameters": [_parameter(name, p) for name, p in statement.parameters.items()],
            "query_tags": [sql.QueryTag(key=k, value=v) for k, v in tags.items()][:20],
        }

    def _end_previous(self, call: Call) -> None:
        """Before a caller's next statement, make sure those we cancelled for it have ended."""
        for statement_id in self._unended.of(call.tags):
            self._await_end(call, statement_id)
            self._unended.discard(statement_id)

    def _await_end(self, call: Call, statement_id: str) -> None:
        interval, cancel_sent = self._poll_interval, False
        while True:
            try:
                response = self._request(call, _get(statement_id))
            except StatementFailedError:  # e.g. 404: the warehouse no longer knows it
                return
            if _state(response) not in _RUNNING:
                return
            if not cancel_sent:
                self._request(call, _cancel(statement_id))
                cancel_sent = True
            if not call.pause(min(interval, call.remaining())):
                raise StatementTimeoutError(
                    f"statement {statement_id} of this caller, cancelled earlier, is still "
                    f"{_state_name(response)} on the warehouse; not sending another"
                )
            interval = min(interval * POLL_GROWTH, self._max_poll_interval)

    def _wait(self, call: Call, response: sql.StatementResponse) -> sql.StatementResponse:
        interval = self._poll_interval
        while _state(response) in _RUNNING:
            if not call.pause(min(interval, call.remaining())):
                self._cancel_remote(call)
                raise StatementTimeoutError(
                    f"statement still {_state_name(response)} after {call.elapsed():.1f}s; "
                    "cancelled on the warehouse",
                    statement_id=call.statement_id,
                )
            response = self._request(call, _get(call.statement_id or ""))
            call.polls, call.state = call.polls + 1, _state_name(response)
            interval = min(interval * POLL_GROWTH, self._max_poll_interval)
        call.finished = True
        return response

    def _collect(self, call: Call, response: sql.StatementResponse) -> StatementResult:
        state, statement_id = _state(response), call.statement_id or ""
        if state == sql.StatementState.FAILED:
            raise classify.statement_failure(response.status, statement_id)
        if state == sql.StatementState.CANCELED:
            raise StatementCanceledError(
                "the statement was cancelled on the warehouse", statement_id=statement_id
            )
        if state != sql.StatementState.SUCCEEDED:
            raise ServerError(
                f"unexpected statement state {_state_name(response)}", statement_id=statement_id
            )
        columns = _columns(response.manifest, statement_id)
        call.state = "FETCHING"
        rows = self._rows(call, columns, response.result)
        truncated = bool(response.manifest and response.manifest.truncated)
        return StatementResult(statement_id, columns, tuple(rows), truncated)

    def _rows(
        self, call: Call, columns: tuple[Column, ...], chunk: sql.ResultData | None
    ) -> list[tuple[Value, ...]]:
        statement_id = call.statement_id or ""
        rows = convert_rows(columns, chunk.data_array if chunk else None, statement_id=statement_id)
        seen: set[int] = set()
        while chunk is not None and chunk.next_chunk_index is not None:
            index = chunk.next_chunk_index
            if index in seen:
                raise ResultError(f"chunk {index} offered twice", statement_id=statement_id)
            if call.remaining() <= 0:
                message = f"result not fetched by the deadline (chunk {index})"
                raise StatementTimeoutError(message, statement_id=statement_id)
            seen.add(index)
            chunk = self._request(call, _chunk(statement_id, index))
            rows += convert_rows(columns, chunk.data_array, statement_id=statement_id)
        return rows

    # ----- one request, retried within the deadline ------------------------------------

    def _request(
        self, call: Call, send: Callable[[WorkspaceClient], T], *, submitting: bool = False
    ) -> T:
        attempt = 0
        while True:
            call.check()
            client, tokens = self._client(call)
            try:
                with request_deadline(call.deadline):
                    return send(client)
            except Exception as error:
                verdict = classify.request_error(error, submitting=submitting)
                if verdict is None:
                    raise
            verdict.error.statement_id = call.statement_id
            self._recover(call, verdict, attempt, tokens)
            attempt += 1

    def _recover(self, call: Call, verdict: Verdict, attempt: int, tokens: TokenSource) -> None:
        """Wait before the next attempt, or raise the verdict's error."""
        error = verdict.error
        error.args = (tokens.mask(str(error)),)  # in case the server echoed our token
        if verdict.action is Action.REAUTH or error.kind == "auth":
            self._discard(tokens)
            if verdict.action is Action.REAUTH and not call.reauthed:
                call.reauthed = True
                return
            raise error from None
        delay = self._delay(verdict, attempt)
        if delay is None or delay >= call.remaining():
            raise error from None
        log.debug(
            "retrying", kind=error.kind, attempt=attempt + 1, delay=round(delay, 2), err=str(error)
        )
        call.pause(delay)

    def _delay(self, verdict: Verdict, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the failure is final."""
        if verdict.action is Action.THROTTLE:
            retry_after = (
                verdict.error.retry_after if isinstance(verdict.error, ThrottledError) else None
            )
            return max(retry_after or 0.0, THROTTLE_FLOOR) + self._rng.uniform(0, 0.25)
        if verdict.action is Action.BACKOFF:
            return min(BACKOFF_CAP, BACKOFF_FIRST * 2.0**attempt) * self._rng.uniform(0.5, 1.0)
        return None

    # ----- the SDK client --------------------------------------------------------------

    def _client(self, call: Call) -> tuple[WorkspaceClient, TokenSource]:
        built = self._sdk
        if built is not None:
            return built
        if not self._build_lock.acquire(timeout=max(call.remaining(), 0.0)):
            raise ConnectionFailedError("timed out waiting for the workspace client to be built")
        try:
            built = self._sdk
            if built is None:
                built = self._build(call)
                with self._lock:
                    self._sdk = built
            return built
        finally:
            self._build_lock.release()

    def _build(self, call: Call) -> tuple[WorkspaceClient, TokenSource]:
        workspace, started = self._workspace, time.monotonic()
        tokens = TokenSource(workspace.host, workspace.client_id, workspace.client_secret)
        try:
            client = build_client(
                workspace.host,
                workspace.client_id,
                tokens.headers,
                http_timeout=self._http_timeout,
                probe_timeout=min(PROBE_TIMEOUT, max(0.5, call.remaining() / 4)),
                product=self._product,
                version=self._version,
            )
        except (ValueError, KeyError, NotImplementedError) as error:
            tokens.close()
            raise classify.build_error(error) from None
        log.debug(
            "workspace client built",
            host=workspace.host,
            seconds=round(time.monotonic() - started, 3),
        )
        return client, tokens

    def _discard(self, tokens: TokenSource) -> None:
        """Drop the SDK client built with `tokens` so the next request builds a fresh one."""
        with self._lock:
            if self._sdk is not None and self._sdk[1] is tokens:
                self._sdk = None
        tokens.invalidate()

    # ----- cancellation ----------------------------------------------------------------

    def _enter(self, call: Call) -> None:
        with self._lock:
            if self._closed:
                raise StatementCanceledError("the warehouse client is closed")
            self._calls.add(call)

    def _leave(self, call: Call) -> None:
        with self._lock:
            self._calls.discard(call)
            self._lock.notify_all()

    def _abandon(self, call: Call) -> None:
        if call.statement_id and not call.finished:
            self._cancel_remote(call)

    def _cancel_remote(self, call: Call) -> None:
        """Ask the warehouse to cancel the call's statement (a few tries); never raises."""
        statement_id = call.statement_id
        if statement_id is None or call.finished:
            return
        call.finished = True
        self._unended.add(statement_id, call.tags)  # until the warehouse confirms its end
        built = self._sdk
        if built is None:  # rebuilding after a 401; the caller's next statement cancels it
            return
        if cancel_statement(built[0], statement_id):
            log.debug("statement cancelled", statement_id=statement_id, tags=call.label)


def _get(statement_id: str) -> Callable[[WorkspaceClient], sql.StatementResponse]:
    return lambda w: w.statement_execution.get_statement(statement_id)


def _cancel(statement_id: str) -> Callable[[WorkspaceClient], None]:
    return lambda w: w.statement_execution.cancel_execution(statement_id)


def _chunk(statement_id: str, index: int) -> Callable[[WorkspaceClient], sql.ResultData]:
    return lambda w: w.statement_execution.get_statement_result_chunk_n(statement_id, index)


def _parameter(name: str, parameter: Any) -> sql.StatementParameterListItem:
    value = parameter.value
    if isinstance(value, bool):
        text: str | None = "true" if value else "false"
    else:
        text = None if value is None else str(value)
    return sql.StatementParameterListItem(name=name, value=text, type=parameter.type)


def _state(response: sql.StatementResponse) -> sql.StatementState | None:
    return response.status.state if response.status else None


def _state_name(response: sql.StatementResponse) -> str:
    state = _state(response)
    return state.value if state is not None else "UNKNOWN"


def _columns(manifest: sql.ResultManifest | None, statement_id: str) -> tuple[Column, ...]:
    schema = manifest.schema if manifest else None
    if schema is None or not schema.columns:
        raise ResultError("the result has no schema", statement_id=statement_id)
    ordered = sorted(schema.columns, key=lambda c: c.position or 0)
    return tuple(
        Column(c.name or f"_{i}", c.type_name.value if c.type_name else "STRING")
        for i, c in enumerate(ordered)
    )
