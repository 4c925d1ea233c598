"""Helpers for the simulated workspace tests: SDK clients, polling with deadlines."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.service.sql import StatementResponse, StatementState

from databricks_exporter.sim import ThreadedWorkspace

FROZEN_NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
TERMINAL = {
    StatementState.SUCCEEDED,
    StatementState.FAILED,
    StatementState.CANCELED,
    StatementState.CLOSED,
}


def sdk_client(ws: ThreadedWorkspace, **overrides: Any) -> WorkspaceClient:
    """A databricks-sdk client doing OAuth M2M against `ws`, with a short retry budget."""
    settings: dict[str, Any] = {
        "host": ws.url,
        "client_id": ws.client_id,
        "client_secret": ws.client_secret,
        "retry_timeout_seconds": 20,
        "http_timeout_seconds": 60,
    }
    settings.update(overrides)
    return WorkspaceClient(config=Config(**settings))


def poll_until(
    predicate: Callable[[], bool], *, deadline: float = 10.0, interval: float = 0.02
) -> None:
    """Wait until `predicate()` holds, failing the test after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        time.sleep(interval)


def wait_terminal(
    client: WorkspaceClient, statement_id: str, deadline: float = 15.0
) -> StatementResponse:
    """Poll `get_statement` until the statement is in a terminal state."""
    latest: list[StatementResponse] = []

    def done() -> bool:
        latest[:] = [client.statement_execution.get_statement(statement_id)]
        status = latest[0].status
        return status is not None and status.state in TERMINAL

    poll_until(done, deadline=deadline)
    return latest[0]


def state(response: StatementResponse) -> StatementState | None:
    """The statement's state, or None when the response has no status."""
    return response.status.state if response.status is not None else None


def rows(response: StatementResponse) -> list[list[str | None]]:
    """The first chunk's rows."""
    if response.result is None or response.result.data_array is None:
        return []
    return [list(row) for row in response.result.data_array]


def error_text(response: StatementResponse) -> str:
    """`sql_state error_code: message` of a FAILED statement, for asserting on."""
    status = response.status
    if status is None or status.error is None:
        return ""
    code = status.error.error_code.value if status.error.error_code else None
    return f"{status.sql_state} {code}: {status.error.message}"


def run_sql(
    client: WorkspaceClient, ws: ThreadedWorkspace, sql: str, **kw: Any
) -> StatementResponse:
    """Execute `sql` on the workspace's warehouse, waiting up to 30 s."""
    kw.setdefault("wait_timeout", "30s")
    return client.statement_execution.execute_statement(
        statement=sql, warehouse_id=ws.warehouse_id, **kw
    )
