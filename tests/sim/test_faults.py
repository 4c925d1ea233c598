"""Injected faults observed through databricks-sdk, as an exporter would meet them."""

from __future__ import annotations

import time

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import PermissionDenied, Unauthenticated
from databricks.sdk.service.sql import QueryTag, StatementState

from databricks_exporter.sim import ThreadedWorkspace

from .helpers import error_text, poll_until, rows, run_sql, sdk_client, state, wait_terminal


def test_token_endpoint_401_is_the_sdk_value_error(ws: ThreadedWorkspace) -> None:
    ws.faults.set({"token": {"status": 401}})
    before = ws.stats()["token_requests_refused"]
    with pytest.raises(ValueError, match="invalid_client"):
        run_sql(sdk_client(ws), ws, "SELECT 1")
    assert ws.stats()["token_requests_refused"] == before + 1


def test_token_endpoint_500_is_a_value_error(ws: ThreadedWorkspace) -> None:
    ws.faults.set({"token": {"status": 500, "count": 1}})
    with pytest.raises(ValueError, match="Internal Server Error"):
        run_sql(sdk_client(ws), ws, "SELECT 1")
    assert ws.faults.spec.token is None


def test_slow_token_endpoint_still_issues_a_token(ws: ThreadedWorkspace) -> None:
    ws.faults.set({"token": {"delay": 0.3}})
    started = time.monotonic()
    assert state(run_sql(sdk_client(ws), ws, "SELECT 1")) == StatementState.SUCCEEDED
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retried_by_the_sdk_after_retry_after(
    ws: ThreadedWorkspace, client: WorkspaceClient, status: int
) -> None:
    run_sql(client, ws, "SELECT 1")  # a token first, so only the statement meets the fault
    ws.faults.set({"api": {"status": status, "retry_after": 1, "count": 1}})
    before = ws.stats()["faults_injected"].get(f"api_{status}", 0)
    started = time.monotonic()
    assert state(run_sql(client, ws, "SELECT 1")) == StatementState.SUCCEEDED
    assert time.monotonic() - started >= 1.0
    assert ws.stats()["faults_injected"][f"api_{status}"] == before + 1
    assert ws.faults.spec.api is None


def test_throttling_carries_retry_after(ws: ThreadedWorkspace) -> None:
    ws.faults.set({"api": {"status": 429, "retry_after": 3}})
    reply = requests.get(f"{ws.url}/api/2.0/sql/statements/x", timeout=10)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "3"
    assert reply.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_api_401_and_403_are_sdk_errors(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    run_sql(client, ws, "SELECT 1")
    ws.faults.set({"api": {"status": 401, "count": 1}})
    with pytest.raises(Unauthenticated):
        run_sql(client, ws, "SELECT 1")
    ws.faults.set({"api": {"status": 403, "count": 1}})
    with pytest.raises(PermissionDenied):
        run_sql(client, ws, "SELECT 1")
    assert state(run_sql(client, ws, "SELECT 1")) == StatementState.SUCCEEDED


def test_hidden_table_is_not_found(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    ws.faults.set({"hidden_tables": ["system.billing.usage"]})
    hidden = run_sql(client, ws, "SELECT count(*) FROM system.billing.usage")
    assert state(hidden) == StatementState.FAILED
    assert error_text(hidden).startswith("42P01 BAD_REQUEST: [TABLE_OR_VIEW_NOT_FOUND]")
    visible = run_sql(client, ws, "SELECT count(*) FROM system.billing.list_prices")
    assert state(visible) == StatementState.SUCCEEDED


def test_denied_table_is_insufficient_permissions(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    ws.faults.set({"denied_tables": ["system.lakeflow.jobs"]})
    denied = run_sql(client, ws, "SELECT count(*) FROM system.lakeflow.jobs")
    assert state(denied) == StatementState.FAILED
    assert error_text(denied).startswith("42501 BAD_REQUEST: [INSUFFICIENT_PERMISSIONS]")
    assert "system.lakeflow.jobs" in error_text(denied)


def test_stopped_warehouse_keeps_statements_pending_then_runs_them(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    ws.faults.set({"warehouse_stopped": {"seconds": 1}})
    submitted = run_sql(client, ws, "SELECT 'cold' AS c", wait_timeout="0s")
    statement_id = submitted.statement_id or ""
    polled = client.statement_execution.get_statement(statement_id)
    assert state(polled) == StatementState.PENDING
    final = wait_terminal(client, statement_id)
    assert state(final) == StatementState.SUCCEEDED
    assert rows(final) == [["cold"]]
    waited = run_sql(
        client,
        ws,
        "SELECT waiting_for_compute_duration_ms >= 1000 FROM system.query.history "
        f"WHERE statement_id = '{statement_id}'",
    )
    assert rows(waited) == [["true"]]


def test_slow_statements_stay_running_and_can_be_cancelled(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    ws.faults.set({"slow_statements": {"seconds": 60, "tags": {"collector": "jobs"}}})
    tag = [QueryTag(key="collector", value="jobs")]
    slow = run_sql(client, ws, "SELECT 1", wait_timeout="0s", query_tags=tag)
    statement_id = slow.statement_id or ""
    poll_until(
        lambda: (
            state(client.statement_execution.get_statement(statement_id)) == StatementState.RUNNING
        )
    )
    assert state(run_sql(client, ws, "SELECT 2")) == StatementState.SUCCEEDED
    client.statement_execution.cancel_execution(statement_id)
    assert state(wait_terminal(client, statement_id)) == StatementState.CANCELED


def test_connection_reset_is_retried_by_the_sdk(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    run_sql(client, ws, "SELECT 1")
    before = ws.stats()["faults_injected"].get("connection_reset", 0)
    ws.faults.set({"reset_connections": {"count": 1}})
    assert state(run_sql(client, ws, "SELECT 1")) == StatementState.SUCCEEDED
    assert ws.stats()["faults_injected"]["connection_reset"] == before + 1


def test_reset_connection_is_seen_as_a_connection_error(ws: ThreadedWorkspace) -> None:
    ws.faults.set({"reset_connections": {"count": 1, "scope": "all"}})
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{ws.url}/oidc/v1/token", timeout=10)


GOOD = "SELECT 'up' AS metric, CAST(1.5 AS DOUBLE) AS value UNION ALL SELECT '__now__', 2.0"


@pytest.mark.parametrize(
    ("corruption", "columns", "data"),
    [
        ({"mode": "drop_column"}, ["metric"], [["up"], ["__now__"]]),
        ({"mode": "non_numeric"}, ["metric", "value"], [["up", "not-a-number"]] * 2),
        ({"mode": "nan"}, ["metric", "value"], [["up", "NaN"], ["__now__", "NaN"]]),
        ({"mode": "null"}, ["metric", "value"], [["up", None], ["__now__", None]]),
        ({"mode": "empty"}, ["metric", "value"], []),
        (
            {"mode": "drop_rows", "column": "metric", "value": "__now__"},
            ["metric", "value"],
            [["up", "1.5"]],
        ),
    ],
)
def test_corrupted_results(
    ws: ThreadedWorkspace,
    client: WorkspaceClient,
    corruption: dict[str, str],
    columns: list[str],
    data: list[list[str | None]],
) -> None:
    ws.faults.set({"corrupt": corruption})
    response = run_sql(client, ws, GOOD + " ORDER BY 1 DESC")
    assert response.manifest is not None
    assert response.manifest.schema is not None
    assert [c.name for c in response.manifest.schema.columns or []] == columns
    got = rows(response)
    if corruption["mode"] == "non_numeric":
        got = [[got[0][0], got[0][1]], [got[0][0], got[1][1]]]
    assert got == data


def test_wrong_type_changes_only_the_declared_type(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    ws.faults.set({"corrupt": {"mode": "wrong_type", "count": 1}})
    response = run_sql(client, ws, GOOD)
    assert response.manifest is not None
    assert response.manifest.schema is not None
    value = (response.manifest.schema.columns or [])[1]
    assert (value.type_name.value if value.type_name else None, value.type_text) == (
        "STRING",
        "STRING",
    )
    assert ws.faults.spec.corrupt is None
