"""The Statement Execution API through databricks-sdk, unmodified: states, results, errors."""

from __future__ import annotations

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    InvalidParameterValue,
    InvalidState,
    NotFound,
    ResourceDoesNotExist,
)
from databricks.sdk.service.sql import (
    ColumnInfoTypeName,
    ExecuteStatementRequestOnWaitTimeout,
    QueryTag,
    StatementParameterListItem,
    StatementState,
)

from databricks_exporter.sim import ThreadedWorkspace

from .helpers import FROZEN_NOW, error_text, rows, run_sql, sdk_client, state, wait_terminal


def test_oauth_m2m_is_detected_and_a_statement_succeeds(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    assert client.config.auth_type == "oauth-m2m"
    response = client.statement_execution.execute_statement(
        statement="SELECT 42 AS answer, 'x' AS label", warehouse_id=ws.warehouse_id
    )
    assert response.status is not None
    assert response.status.state == StatementState.SUCCEEDED
    assert response.result is not None
    assert response.result.data_array == [["42", "x"]]


def test_wrong_secret_is_a_value_error_from_the_token_endpoint(ws: ThreadedWorkspace) -> None:
    client = sdk_client(ws, client_secret="wrong")
    with pytest.raises(ValueError, match="invalid_client"):
        client.statement_execution.execute_statement(
            statement="SELECT 1", warehouse_id=ws.warehouse_id
        )


def test_types_and_values_are_rendered_like_databricks(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = client.statement_execution.execute_statement(
        statement=(
            "SELECT CAST(7 AS BIGINT) AS n, CAST(1.5 AS DECIMAL(38,18)) AS d, "
            "current_timestamp() AS ts, CAST(NULL AS STRING) AS s, true AS b, "
            "CAST(0.25 AS DOUBLE) AS x, named_struct('a', 1) AS st, array('p', 'q') AS arr"
        ),
        warehouse_id=ws.warehouse_id,
    )
    assert response.manifest is not None
    assert response.manifest.schema is not None
    columns = response.manifest.schema.columns or []
    assert [c.type_name for c in columns] == [
        ColumnInfoTypeName.LONG,
        ColumnInfoTypeName.DECIMAL,
        ColumnInfoTypeName.TIMESTAMP,
        ColumnInfoTypeName.STRING,
        ColumnInfoTypeName.BOOLEAN,
        ColumnInfoTypeName.DOUBLE,
        ColumnInfoTypeName.STRUCT,
        ColumnInfoTypeName.ARRAY,
    ]
    assert columns[1].type_text == "DECIMAL(38,18)"
    assert columns[1].type_scale == 18
    assert response.result is not None
    assert response.result.data_array == [
        [
            "7",
            "1.500000000000000000",
            FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            None,
            "true",
            "0.25",
            '{"a":1}',
            '["p","q"]',
        ]
    ]


def test_named_parameters_are_bound_with_their_types(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = client.statement_execution.execute_statement(
        statement="SELECT :n + 1 AS n, :label AS label",
        warehouse_id=ws.warehouse_id,
        parameters=[
            StatementParameterListItem(name="n", value="41", type="INT"),
            StatementParameterListItem(name="label", value="hi"),
        ],
    )
    assert response.result is not None
    assert response.result.data_array == [["42", "hi"]]


def test_on_wait_timeout_cancel_returns_canceled(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    ws.faults.set({"slow_statements": {"seconds": 30}})
    response = client.statement_execution.execute_statement(
        statement="SELECT 1",
        warehouse_id=ws.warehouse_id,
        wait_timeout="5s",
        on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL,
    )
    assert response.status is not None
    assert response.status.state == StatementState.CANCELED
    assert response.statement_id is not None
    final = wait_terminal(client, response.statement_id)
    assert final.status is not None
    assert final.status.state == StatementState.CANCELED


def test_wait_timeout_zero_returns_at_once_and_polls_to_succeeded(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = run_sql(client, ws, "SELECT 1 AS one", wait_timeout="0s")
    assert state(response) == StatementState.PENDING
    final = wait_terminal(client, response.statement_id or "")
    assert state(final) == StatementState.SUCCEEDED
    assert rows(final) == [["1"]]


@pytest.mark.parametrize("wait", ["1s", "51s", "10", "abc"])
def test_wait_timeout_outside_the_api_range_is_refused(
    ws: ThreadedWorkspace, client: WorkspaceClient, wait: str
) -> None:
    with pytest.raises(InvalidParameterValue, match="wait_timeout"):
        run_sql(client, ws, "SELECT 1", wait_timeout=wait)


def test_unknown_warehouse_is_resource_does_not_exist(client: WorkspaceClient) -> None:
    with pytest.raises(ResourceDoesNotExist, match="nope"):
        client.statement_execution.execute_statement(statement="SELECT 1", warehouse_id="nope")


def test_unknown_statement_is_resource_does_not_exist(client: WorkspaceClient) -> None:
    with pytest.raises(ResourceDoesNotExist):
        client.statement_execution.get_statement("01f1-no-such-statement")


def test_too_many_query_tags_are_refused(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    tags = [QueryTag(key=f"k{i}", value="v") for i in range(21)]
    with pytest.raises(InvalidParameterValue, match="query_tags"):
        run_sql(client, ws, "SELECT 1", query_tags=tags)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM system.billing.nope", "42P01 BAD_REQUEST: [TABLE_OR_VIEW_NOT_FOUND]"),
        ("SELEC 1", "42601 BAD_REQUEST: [PARSE_SYNTAX_ERROR]"),
        ("SELECT :missing", "42P02 BAD_REQUEST: [UNBOUND_SQL_PARAMETER]"),
        ("SELECT no_such_column FROM range(1)", "42703 BAD_REQUEST: [UNRESOLVED_COLUMN"),
        (
            "SELECT * FROM read_text('/etc/hostname')",
            "42501 BAD_REQUEST: [INSUFFICIENT_PERMISSIONS]",
        ),
        ("DELETE FROM system.billing.usage", "0A000 BAD_REQUEST: [UNSUPPORTED_FEATURE]"),
    ],
)
def test_sql_errors_are_failed_statements_with_sql_state(
    ws: ThreadedWorkspace, client: WorkspaceClient, sql: str, expected: str
) -> None:
    response = run_sql(client, ws, sql)
    assert state(response) == StatementState.FAILED
    assert error_text(response).startswith(expected)


def test_chunks_of_a_failed_statement_are_refused(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = run_sql(client, ws, "SELEC 1")
    with pytest.raises(InvalidState):
        client.statement_execution.get_statement_result_chunk_n(response.statement_id or "", 0)


def test_requests_without_a_valid_token_are_unauthenticated(ws: ThreadedWorkspace) -> None:
    url = f"{ws.url}/api/2.0/sql/statements"
    body = {"statement": "SELECT 1", "warehouse_id": ws.warehouse_id}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        reply = requests.post(url, json=body, headers=headers, timeout=10)
        assert reply.status_code == 401
        assert reply.json()["error_code"] == "UNAUTHENTICATED"


def test_catalog_and_schema_of_the_request_qualify_table_names(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = run_sql(
        client, ws, "SELECT count(*) FROM list_prices", catalog="system", schema="billing"
    )
    assert rows(response) == [["0"]]


def test_unknown_api_paths_answer_in_databricks_json(client: WorkspaceClient) -> None:
    with pytest.raises(NotFound, match="No API found"):
        client.api_client.do("GET", "/api/2.0/clusters/list")
