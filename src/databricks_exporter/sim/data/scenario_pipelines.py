"""Hand-built pipeline updates of the scenario workspace, with fixed ids.

Times are minutes from the anchor hour A (`now` truncated to the hour); the expected values
are spelled out in `scenarios.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    ODD_PIPELINE_NAME,
    ODD_UPDATE_TYPE,
    SCENARIO_WORKSPACE,
    USERS,
)
from databricks_exporter.sim.data.loading import Row
from databricks_exporter.sim.data.scenario_jobs import Span
from databricks_exporter.sim.data.timeline import Anchors, slices


def pipeline_id(n: int) -> str:
    """The id of scenario pipeline `n`."""
    return f"5ce0a110-0000-4000-8000-{n:012d}"


def request_id(n: int, r: int) -> str:
    """The id of request `r` of scenario pipeline `n`."""
    return f"5ce0a110-0000-4000-9000-{n:06d}{r:06d}"


def update_id(n: int, u: int) -> str:
    """The id of update `u` of scenario pipeline `n`."""
    return f"5ce0a110-0000-4000-a000-{n:06d}{u:06d}"


@dataclass(frozen=True)
class Update:
    """One scenario pipeline update: pipeline n, request r, update u."""

    pipeline: int
    request: int
    update: int
    update_type: str
    trigger_type: str
    span: Span


UPDATES = (
    Update(1, 1, 1, "REFRESH", "JOB_TASK", Span(-540, -510, "FAILED")),
    Update(1, 1, 2, "REFRESH", "RETRY_ON_FAILURE", Span(-505, -490, "FAILED")),
    Update(1, 1, 3, "REFRESH", "RETRY_ON_FAILURE", Span(-485, -380, "COMPLETED")),
    Update(2, 1, 1, "REFRESH", "USER_ACTION", Span(-1500, -1450, "COMPLETED")),
    Update(2, 2, 2, "REFRESH", "USER_ACTION", Span(-150, 300, None)),
    Update(3, 1, 1, "FULL_REFRESH", "USER_ACTION", Span(-2900, -2880, "COMPLETED")),
    Update(3, 2, 2, "REFRESH", "DBSQL_REQUEST", Span(-300, -280, "CANCELED")),
    Update(3, 3, 3, "VALIDATE", "USER_ACTION", Span(-200, -190, "COMPLETED")),
    Update(4, 1, 1, "REFRESH", "USER_ACTION", Span(-11580, -11520, "COMPLETED")),
    Update(5, 1, 1, ODD_UPDATE_TYPE, "API_CALL", Span(-400, -370, "COMPLETED")),
)

#: (pipeline n, name, later name or None, deleted at minutes from A or None).
PIPELINE_NAMES = (
    (1, "scenario_restarts", None, None),
    (2, "scenario_in_progress", None, None),
    (3, "scenario_stages", "scenario_stages_v2", None),
    (4, "scenario_stale", None, -7 * 1440),
    (5, ODD_PIPELINE_NAME, None, None),
)


def update_rows(anchors: Anchors) -> Iterator[Row]:
    """`pipeline_update_timeline` rows of every scenario update."""
    for update in UPDATES:
        start = anchors.hour + dt.timedelta(minutes=update.span.start)
        end = anchors.hour + dt.timedelta(minutes=update.span.end)
        for slice_start, slice_end, last in slices(start, end, anchors.now):
            yield {
                "account_id": ACCOUNT_ID,
                "workspace_id": SCENARIO_WORKSPACE,
                "pipeline_id": pipeline_id(update.pipeline),
                "update_id": update_id(update.pipeline, update.update),
                "update_type": update.update_type,
                "request_id": request_id(update.pipeline, update.request),
                "run_as_user_name": USERS[1],
                "trigger_type": update.trigger_type,
                "result_state": update.span.state if last else None,
                "compute": {"type": "SERVERLESS_COMPUTE", "cluster_id": None},
                "period_start_time": slice_start,
                "period_end_time": slice_end,
            }


def pipeline_name_rows(anchors: Anchors) -> Iterator[Row]:
    """SCD2 `lakeflow.pipelines` rows: pipeline 3 renamed 2 days ago, 4 deleted 7 days ago."""
    created = anchors.day - dt.timedelta(days=60)
    for n, name, renamed, deleted in PIPELINE_NAMES:
        row: dict[str, object] = {"account_id": ACCOUNT_ID, "workspace_id": SCENARIO_WORKSPACE}
        row |= {"pipeline_id": pipeline_id(n), "pipeline_type": "ETL_PIPELINE", "name": name}
        row |= {"created_by": USERS[1], "run_as": USERS[1], "tags": {"team": "scenario"}}
        row |= {"change_time": created, "delete_time": None, "create_time": created}
        yield row
        if renamed:
            yield {**row, "name": renamed, "change_time": anchors.hour - dt.timedelta(days=2)}
        if deleted is not None:
            gone = anchors.hour + dt.timedelta(minutes=deleted)
            yield {**row, "change_time": gone, "delete_time": gone}
