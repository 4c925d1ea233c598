"""Hand-built statements and warehouses of the scenario and overlap workspaces.

Statement times are seconds before `now` itself (not the anchor hour), because the query
window is only one hour wide. Intervals are half-open [start, end): a statement ending at the
instant another starts does not overlap it. The expected values are in `scenarios.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    EXPORTER_PRINCIPAL,
    EXPORTER_TAGS,
    OVERLAP_WAREHOUSE_ID,
    OVERLAP_WORKSPACE,
    SCENARIO_WAREHOUSE_ID,
    SCENARIO_WORKSPACE,
    USERS,
)
from databricks_exporter.sim.data.loading import Row
from databricks_exporter.sim.data.timeline import Anchors


@dataclass(frozen=True)
class Statement:
    """A scenario statement: [start, end) in seconds before `now`; end None = still running."""

    statement_id: str
    workspace_id: str
    start: int
    end: int | None
    status: str
    has_duration: bool = True
    tags: Mapping[str, str] | None = None
    warehouse_id: str | None = OVERLAP_WAREHOUSE_ID


def _q(n: int) -> str:
    return f"0e1a9000-0000-4000-8000-{n:012d}"


def _s(n: int) -> str:
    return f"5ce0c000-0000-4000-8000-{n:012d}"


_Q, _S, _SW = OVERLAP_WORKSPACE, SCENARIO_WORKSPACE, SCENARIO_WAREHOUSE_ID
_DBT = {"app": "dbt", "team": "analytics"}
STATEMENTS = (
    Statement(_q(1), _Q, -1800, -1200, "FINISHED"),
    Statement(_q(2), _Q, -1700, -1500, "FAILED"),
    Statement(_q(3), _Q, -1650, -1550, "CANCELED", has_duration=False),
    Statement(_q(4), _Q, -1600, -1580, "FINISHED"),
    Statement(_q(5), _Q, -900, -600, "FINISHED"),
    Statement(_q(6), _Q, -900, -600, "FINISHED"),
    Statement(_q(7), _Q, -900, -600, "FINISHED"),
    Statement(_q(8), _Q, -600, -300, "FAILED"),
    Statement(_q(9), _Q, -600, -300, "FINISHED"),
    Statement(_q(10), _Q, -120, None, "RUNNING"),
    Statement(_q(11), _Q, -3700, -1590, "FINISHED"),
    Statement(_q(12), _Q, -1610, -1585, "FINISHED", tags=EXPORTER_TAGS),
    Statement(_s(1), _S, -300, -240, "FINISHED", tags=_DBT, warehouse_id=_SW),
    Statement(_s(2), _S, -200, -100, "FINISHED", tags=EXPORTER_TAGS, warehouse_id=_SW),
    Statement(_s(3), _S, -50, None, "RUNNING", warehouse_id=None),
)


_ERROR = "[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012"


def statement_rows(anchors: Anchors) -> Iterator[Row]:
    """`query.history` rows of the scenario statements."""
    for statement in STATEMENTS:
        start = anchors.now + dt.timedelta(seconds=statement.start)
        end = None if statement.end is None else anchors.now + dt.timedelta(seconds=statement.end)
        exporter = statement.tags == EXPORTER_TAGS
        who = EXPORTER_PRINCIPAL if exporter else USERS[2]
        duration = (statement.end - statement.start) * 1000 if statement.end is not None else 0
        serverless = statement.warehouse_id is None
        yield {
            "account_id": ACCOUNT_ID,
            "workspace_id": statement.workspace_id,
            "statement_id": statement.statement_id,
            "executed_by": who,
            "executed_as": who,
            "execution_status": statement.status,
            "compute": {
                "type": "SERVERLESS_COMPUTE" if serverless else "WAREHOUSE",
                "cluster_id": None,
                "warehouse_id": statement.warehouse_id,
            },
            "statement_text": f"SELECT {statement.statement_id!r} AS scenario",
            "statement_type": "SELECT",
            "error_message": _ERROR if statement.status == "FAILED" else None,
            "total_duration_ms": duration if statement.has_duration and end else None,
            "start_time": start,
            "end_time": end,
            "update_time": end or anchors.now,
            "query_tags": statement.tags,
        }


def warehouse_rows(anchors: Anchors) -> Iterator[Row]:
    """`compute.warehouses` rows of the scenario and overlap warehouses."""
    created = anchors.day - dt.timedelta(days=90)
    for workspace_id, warehouse_id, kind in (
        (_S, SCENARIO_WAREHOUSE_ID, "PRO"),
        (_Q, OVERLAP_WAREHOUSE_ID, "SERVERLESS"),
    ):
        yield {
            "warehouse_id": warehouse_id,
            "workspace_id": workspace_id,
            "account_id": ACCOUNT_ID,
            "warehouse_name": f"scenario {kind.lower()} warehouse",
            "warehouse_type": kind,
            "warehouse_size": "Small",
            "change_time": created,
            "delete_time": None,
        }


def warehouse_event_rows(anchors: Anchors) -> Iterator[Row]:
    """A start of each scenario warehouse two hours before `now`; both still running."""
    for workspace_id, warehouse_id in ((_S, SCENARIO_WAREHOUSE_ID), (_Q, OVERLAP_WAREHOUSE_ID)):
        for event_type, minutes, clusters in (("STARTING", 120, 0), ("RUNNING", 118, 1)):
            yield {
                "account_id": ACCOUNT_ID,
                "workspace_id": workspace_id,
                "warehouse_id": warehouse_id,
                "event_type": event_type,
                "cluster_count": clusters,
                "event_time": anchors.now - dt.timedelta(minutes=minutes),
            }
