"""The Statement Execution API through databricks-sdk, unmodified: states, results, errors."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import (
    ColumnInfoTypeName,
    ExecuteStatementRequestOnWaitTimeout,
    StatementParameterListItem,
    StatementState,
)

from databricks_exporter.sim import ThreadedWorkspace

from .helpers import FROZEN_NOW, sdk_client, wait_terminal


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
