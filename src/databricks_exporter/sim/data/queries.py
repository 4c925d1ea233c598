"""Bulk `query.history`: statements spread uniformly over the preset's query history.

Each bulk workspace gets its own rate (0.6x to 1.4x the preset's statements per hour). Most
statements take about a second, a few take minutes, and 2 % run 60 to 150 minutes, so those
near `now` are still running (status RUNNING, NULL end_time and total_duration_ms).
Intervals overlap freely. About 5 % FAILED, 3 % CANCELED (a third of those without a
duration), 2 % come from an earlier exporter (query tag app=databricks-exporter), others
carry dbt, Tableau or team tags, half carry none. Whatever the seed, the last hour of every
workspace holds exporter statements, running ones and FAILED ones (see `queries.sql`).
"""

from __future__ import annotations

import math

import duckdb

from databricks_exporter.sim.data import rand
from databricks_exporter.sim.data.loading import load_temp, run_script
from databricks_exporter.sim.data.plan import Plan
from databricks_exporter.sim.data.timeline import HOUR
from databricks_exporter.sim.data.warehouses import Warehouse, target_rows

_CHECKPOINT_AFTER = 100_000


def volumes(plan: Plan) -> list[tuple[int, int]]:
    """(workspace index, statements) of every bulk workspace."""
    hours = plan.preset.query_history / HOUR
    per_hour = plan.preset.statements_per_hour * plan.factor
    return [
        (wi, math.ceil(per_hour * rand.between(0.6, 1.4, plan.seed, "query_rate", wi) * hours))
        for wi in range(len(plan.workspaces))
    ]


def generate_queries(
    con: duckdb.DuckDBPyConnection, plan: Plan, warehouses: list[Warehouse]
) -> None:
    """Fill `query.history` with the bulk statements."""
    targets = list(target_rows(warehouses))
    load_temp(con, "gen_query_targets", targets)
    # One workspace at a time, checkpointing big ones: the checkpoint compresses the table, so
    # only one workspace's uncompressed rows are in memory at once (large: 4 GB -> 1.2 GB).
    for wi, statements in volumes(plan):
        workspace_id = plan.workspaces[wi]
        n_targets = sum(1 for target in targets if target["workspace_id"] == workspace_id)
        row = {"workspace_id": workspace_id, "ws_index": wi, "statements": statements}
        load_temp(con, "gen_query_workspaces", [{**row, "n_targets": n_targets}])
        run_script(con, "queries.sql")
        if statements > _CHECKPOINT_AFTER:
            con.execute("CHECKPOINT databricks_system")
