"""Each statement the simulated warehouse runs is appended to `system.query.history`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from databricks_exporter.sim.statements import Statement

_STATUS = {"SUCCEEDED": "FINISHED", "FAILED": "FAILED", "CANCELED": "CANCELED"}

_INSERT = """
INSERT INTO databricks_system.query.history BY NAME
SELECT
    $account_id AS account_id, $workspace_id AS workspace_id,
    $statement_id AS statement_id,
    $executed_by AS executed_by, $executed_by AS executed_by_user_id,
    $executed_by AS executed_as, $executed_by AS executed_as_user_id,
    $status AS execution_status,
    {'type': 'WAREHOUSE', 'cluster_id': NULL::VARCHAR, 'warehouse_id': $warehouse_id} AS compute,
    $text AS statement_text, $statement_type AS statement_type, $error AS error_message,
    $client AS client_application,
    $total_ms AS total_duration_ms, $waiting_ms AS waiting_for_compute_duration_ms,
    0 AS waiting_at_capacity_duration_ms, $execution_ms AS execution_duration_ms,
    $compilation_ms AS compilation_duration_ms, $execution_ms AS total_task_duration_ms,
    0 AS result_fetch_duration_ms,
    $start_time AS start_time, $end_time AS end_time, $end_time AS update_time,
    $produced_rows AS produced_rows, false AS from_result_cache,
    CASE WHEN len($tag_keys) = 0 THEN NULL
         ELSE MAP($tag_keys::VARCHAR[], $tag_values::VARCHAR[]) END AS query_tags
"""


@dataclass(frozen=True)
class Identity:
    """Who the simulated workspace says ran the statements, and where."""

    account_id: str
    workspace_id: str
    executed_by: str


def _ms(start: float | None, end: float | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, round((end - start) * 1000))


def _statement_type(text: str) -> str:
    words = text.strip().lstrip("(").split(None, 1)
    first = words[0].upper() if words else ""
    return "SELECT" if first in ("WITH", "VALUES", "FROM", "") else first


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def row(statement: Statement, identity: Identity, outcome: str) -> dict[str, object]:
    """The query-history values of a statement that ended with `outcome`."""
    finished = statement.finished or statement.submitted
    total_ms = _ms(statement.submitted, finished)
    result = statement.result
    error = statement.error
    return {
        "account_id": identity.account_id,
        "workspace_id": identity.workspace_id,
        "statement_id": statement.id,
        "executed_by": identity.executed_by,
        "status": _STATUS[outcome],
        "warehouse_id": statement.request.warehouse_id,
        "text": statement.request.statement,
        "statement_type": _statement_type(statement.request.statement),
        "error": error.message if error is not None and outcome == "FAILED" else None,
        "client": statement.request.client,
        "total_ms": total_ms,
        "waiting_ms": _ms(statement.submitted, statement.started),
        "execution_ms": _ms(statement.compiled, finished),
        "compilation_ms": _ms(statement.started, statement.compiled),
        "start_time": _naive_utc(statement.submitted_at),
        "end_time": _naive_utc(statement.submitted_at + dt.timedelta(milliseconds=total_ms)),
        "produced_rows": len(result.rows) if result is not None else None,
        "tag_keys": list(statement.request.tags),
        "tag_values": list(statement.request.tags.values()),
    }


def append(cursor: duckdb.DuckDBPyConnection, values: dict[str, object]) -> None:
    """Insert one query-history row (blocking; closes the cursor)."""
    try:
        cursor.execute(_INSERT, values)
    finally:
        cursor.close()
