"""Results through databricks-sdk: chunks, limits, the inline cap, query history, concurrency."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service.sql import (
    Disposition,
    Format,
    QueryTag,
    StatementParameterListItem,
    StatementState,
)

from databricks_exporter.sim import ThreadedWorkspace

from .helpers import FROZEN_NOW, poll_until, rows, run_sql, state, wait_terminal


def test_large_results_come_in_chunks_that_reassemble(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = run_sql(client, ws, "SELECT range AS n, repeat('v', 40) AS pad FROM range(3000)")
    assert response.manifest is not None
    assert response.manifest.total_chunk_count is not None
    assert response.manifest.total_chunk_count > 1
    assert response.manifest.total_row_count == 3000
    collected = rows(response)
    next_index = response.result.next_chunk_index if response.result else None
    while next_index is not None:
        chunk = client.statement_execution.get_statement_result_chunk_n(
            response.statement_id or "", next_index
        )
        collected.extend(list(row) for row in chunk.data_array or [])
        next_index = chunk.next_chunk_index
    assert [int(row[0] or -1) for row in collected] == list(range(3000))


def test_row_limit_truncates(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    response = run_sql(client, ws, "SELECT range FROM range(10)", row_limit=3)
    assert rows(response) == [["0"], ["1"], ["2"]]
    assert response.manifest is not None
    assert response.manifest.truncated is True


def test_row_limit_at_the_row_count_is_not_truncation(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    response = run_sql(client, ws, "SELECT range FROM range(3)", row_limit=3)
    assert response.manifest is not None
    assert response.manifest.truncated is False


def test_byte_limit_truncates(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    response = run_sql(client, ws, "SELECT repeat('x', 100) FROM range(10)", byte_limit=350)
    assert len(rows(response)) == 3
    assert response.manifest is not None
    assert response.manifest.truncated is True


def test_inline_result_over_25_mib_fails(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    response = run_sql(client, ws, "SELECT repeat('x', 1048576) FROM range(30)")
    assert state(response) == StatementState.FAILED
    assert response.status is not None
    assert response.status.error is not None
    assert "25 MiB" in (response.status.error.message or "")


def test_external_links_and_other_formats_are_refused(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    with pytest.raises(InvalidParameterValue, match="EXTERNAL_LINKS"):
        run_sql(client, ws, "SELECT 1", disposition=Disposition.EXTERNAL_LINKS)
    with pytest.raises(InvalidParameterValue, match="ARROW_STREAM"):
        run_sql(client, ws, "SELECT 1", format=Format.ARROW_STREAM)


def test_each_statement_is_appended_to_query_history(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    marker = "SELECT 'history-marker' AS m"
    first = run_sql(client, ws, marker, query_tags=[QueryTag(key="collector", value="jobs")])
    check = (
        "SELECT executed_by, execution_status, compute.warehouse_id, compute.type, "
        "query_tags['collector'], start_time, workspace_id, statement_text "
        "FROM system.query.history WHERE statement_id = :id"
    )
    found = run_sql(
        client,
        ws,
        check,
        parameters=[StatementParameterListItem(name="id", value=first.statement_id)],
    )
    assert rows(found) == [
        [
            ws.client_id,
            "FINISHED",
            ws.warehouse_id,
            "WAREHOUSE",
            "jobs",
            FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            ws.workspace_id,
            marker,
        ]
    ]


def test_a_statement_does_not_see_itself_in_history(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    sql = "SELECT count(*) FROM system.query.history WHERE statement_text LIKE '%self-marker%'"
    assert rows(run_sql(client, ws, sql)) == [["0"]]
    assert rows(run_sql(client, ws, sql)) == [["1"]]


def test_a_long_query_does_not_block_others(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    slow = run_sql(
        client,
        ws,
        "SELECT count(*) FROM range(100000) a CROSS JOIN range(100000) b "
        "WHERE a.range * b.range % 7 = 3",
        wait_timeout="0s",
    )
    poll_until(lambda: ws.stats()["in_flight"] >= 1)
    quick = run_sql(client, ws, "SELECT 1")
    assert state(quick) == StatementState.SUCCEEDED
    client.statement_execution.cancel_execution(slow.statement_id or "")
    final = wait_terminal(client, slow.statement_id or "")
    assert state(final) == StatementState.CANCELED
    found = run_sql(
        client,
        ws,
        f"SELECT execution_status FROM system.query.history "
        f"WHERE statement_id = '{slow.statement_id}'",
    )
    assert rows(found) == [["CANCELED"]]
