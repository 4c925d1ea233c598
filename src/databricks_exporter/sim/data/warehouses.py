"""SQL warehouses: `compute.warehouses` snapshots, `compute.warehouse_events`, and the targets
statements run on.

Every bulk workspace has a PRO, a SERVERLESS and a CLASSIC warehouse; the default workspace's
PRO warehouse is `abc123def456`. The second workspace also has a CLASSIC warehouse deleted
five days ago, which runs no statements. Each warehouse was created, later resized (a new
snapshot row); serverless ones were renamed. Classic and PRO warehouses start in the morning,
scale up and down and stop in the evening; serverless ones cycle three times a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from databricks_exporter.sim.data import rand
from databricks_exporter.sim.data.catalog import ACCOUNT_ID, DEFAULT_WAREHOUSE_ID, TEAMS, USERS
from databricks_exporter.sim.data.loading import Row, insert_rows
from databricks_exporter.sim.data.plan import Plan

_KINDS = ("PRO", "SERVERLESS", "CLASSIC")
#: How many of a workspace's statements go to each kind of target (serverless compute last).
_WEIGHTS = {"PRO": 3, "SERVERLESS": 2, "CLASSIC": 1}
_MIN = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Warehouse:
    """One SQL warehouse of a bulk workspace."""

    workspace_id: str
    ws_index: int
    warehouse_id: str
    name: str
    kind: str
    owner: str
    team: str
    deleted: bool = False


def build_warehouses(plan: Plan) -> list[Warehouse]:
    """The warehouses of every bulk workspace."""
    found = []
    for wi, workspace_id in enumerate(plan.workspaces):
        for k, kind in enumerate(_KINDS):
            found.append(_warehouse(plan, wi, workspace_id, k, kind))
        if wi == 1:
            found.append(_warehouse(plan, wi, workspace_id, 3, "CLASSIC", deleted=True))
    return found


def _warehouse(
    plan: Plan, wi: int, workspace_id: str, k: int, kind: str, *, deleted: bool = False
) -> Warehouse:
    default = wi == 0 and kind == "PRO"
    return Warehouse(
        workspace_id=workspace_id,
        ws_index=wi,
        warehouse_id=DEFAULT_WAREHOUSE_ID if default else rand.hex_id(16, "warehouse", wi, k),
        name=f"{kind.lower()}-warehouse-{wi}-{k}",
        kind=kind,
        owner=rand.pick(USERS, plan.seed, "owner", wi, k),
        team=rand.pick(TEAMS, plan.seed, "wh_team", wi, k),
        deleted=deleted,
    )


def snapshot_rows(plan: Plan, found: list[Warehouse]) -> Iterator[Row]:
    """SCD rows of `compute.warehouses`: creation, a resize, a rename, a deletion."""
    day = plan.anchors.day
    for n, warehouse in enumerate(found):
        first = _snapshot(warehouse, day - dt.timedelta(days=200 - n))
        yield first
        yield {**first, "change_time": day - dt.timedelta(days=30 - n), "warehouse_size": "Large"}
        if warehouse.kind == "SERVERLESS":
            renamed = {**first, "warehouse_name": f"{warehouse.name} (serverless)"}
            yield {**renamed, "change_time": day - dt.timedelta(days=10), "warehouse_size": "Large"}
        if warehouse.deleted:
            gone = day - dt.timedelta(days=5)
            yield {**first, "change_time": gone, "delete_time": gone, "warehouse_size": "Large"}


def _snapshot(warehouse: Warehouse, created: dt.datetime) -> dict[str, object]:
    return {
        "warehouse_id": warehouse.warehouse_id,
        "workspace_id": warehouse.workspace_id,
        "account_id": ACCOUNT_ID,
        "warehouse_name": warehouse.name,
        "warehouse_type": warehouse.kind,
        "warehouse_channel": "CURRENT",
        "warehouse_size": "Medium",
        "min_clusters": 1,
        "max_clusters": 1 if warehouse.kind == "CLASSIC" else 3,
        "auto_stop_minutes": 5 if warehouse.kind == "SERVERLESS" else 30,
        "tags": {"team": warehouse.team},
        "change_time": created,
        "delete_time": None,
    }


_CLASSIC_DAY = (
    ("STARTING", dt.timedelta(hours=7), 0),
    ("RUNNING", dt.timedelta(hours=7, minutes=2), 1),
    ("SCALED_UP", dt.timedelta(hours=10), 2),
    ("SCALED_DOWN", dt.timedelta(hours=13), 1),
    ("STOPPING", dt.timedelta(hours=19), 1),
    ("STOPPED", dt.timedelta(hours=19, minutes=1), 0),
)


def _day_events(kind: str) -> Iterator[tuple[str, dt.timedelta, int]]:
    if kind != "SERVERLESS":
        yield from _CLASSIC_DAY
        return
    for start in (8, 13, 17):
        hour = dt.timedelta(hours=start)
        yield "STARTING", hour, 0
        yield "RUNNING", hour + _MIN, 1
        yield "STOPPING", hour + dt.timedelta(hours=2), 1
        yield "STOPPED", hour + dt.timedelta(hours=2) + _MIN, 0


def event_rows(plan: Plan, found: list[Warehouse]) -> Iterator[Row]:
    """`compute.warehouse_events` of the live warehouses over the preset's event days."""
    anchors = plan.anchors
    for warehouse in (w for w in found if not w.deleted):
        for back in range(plan.preset.event_days, -1, -1):
            day = anchors.day - dt.timedelta(days=back)
            jitter = dt.timedelta(
                minutes=int(rand.between(0, 40, plan.seed, "ev", back, warehouse.name))
            )
            for event_type, offset, clusters in _day_events(warehouse.kind):
                moment = day + offset + jitter
                if moment <= anchors.now:
                    yield _event(warehouse, event_type, clusters, moment)


def _event(warehouse: Warehouse, event_type: str, clusters: int, moment: dt.datetime) -> Row:
    return {
        "account_id": ACCOUNT_ID,
        "workspace_id": warehouse.workspace_id,
        "warehouse_id": warehouse.warehouse_id,
        "event_type": event_type,
        "cluster_count": clusters,
        "event_time": moment,
    }


def target_rows(found: list[Warehouse]) -> Iterator[Row]:
    """`gen_query_targets`: per workspace numbered slots, each a warehouse or serverless compute."""
    by_workspace: dict[str, list[Warehouse]] = {}
    for warehouse in found:
        if not warehouse.deleted:
            by_workspace.setdefault(warehouse.workspace_id, []).append(warehouse)
    for workspace_id, live in by_workspace.items():
        slots = [w for w in live for _ in range(_WEIGHTS[w.kind])]
        for slot, warehouse in enumerate(slots):
            yield _target(workspace_id, slot, warehouse.warehouse_id, "WAREHOUSE", warehouse.owner)
        yield _target(workspace_id, len(slots), None, "SERVERLESS_COMPUTE", None)


def _target(
    workspace_id: str, slot: int, warehouse_id: str | None, kind: str, owner: str | None
) -> Row:
    return {
        "workspace_id": workspace_id,
        "slot": slot,
        "warehouse_id": warehouse_id,
        "compute_type": kind,
        "owner": owner,
    }


def generate_warehouses(con: duckdb.DuckDBPyConnection, plan: Plan) -> list[Warehouse]:
    """Fill the compute tables; returns the warehouses for queries and billing."""
    found = build_warehouses(plan)
    insert_rows(con, "databricks_system.compute.warehouses", list(snapshot_rows(plan, found)))
    insert_rows(con, "databricks_system.compute.warehouse_events", list(event_rows(plan, found)))
    return found
