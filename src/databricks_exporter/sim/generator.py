"""Synthetic system tables for the simulated workspace, deterministic from a seed.

`generate` fills every table of `schema.sql`, anchored to `now`:

* `billing.list_prices`: a fixed price list (the same for every seed), 300+ days of history,
  changes inside the 90-day and 30-day windows, a SKU first priced 20 days ago, EUR rows;
* `billing.usage`: 40 days of mostly hourly rows per bulk workspace (jobs, warehouses,
  pipelines, all-purpose clusters, AI functions), daily storage rows in GB_HOUR, tokens,
  RETRACTION/RESTATEMENT corrections;
* `lakeflow.jobs`, `job_run_timeline`, `job_task_run_timeline`: hourly-sliced runs, repairs,
  runs in progress, task retries, renamed/deleted/nameless jobs;
* `lakeflow.pipelines`, `pipeline_update_timeline`: sliced updates, restarts under one
  request, REFRESH/FULL_REFRESH/VALIDATE, updates in progress;
* `query.history`: statements with overlaps, FAILED/CANCELED/RUNNING, NULL end times,
  several warehouses (one serverless) and serverless compute, other apps' query tags and the
  exporter's own tag;
* `compute.warehouses`, `compute.warehouse_events`.

On top of the random bulk, `SCENARIOS` are hand-built rows with fixed ids in the workspaces
`SCENARIO_WORKSPACE` and `OVERLAP_WORKSPACE`; their exact expected values are documented there.

The same seed, scale, `now` and size factor give the same rows (row order aside). Bulk rows
are built inside DuckDB (`INSERT ... SELECT` over `range()`, draws hashed from the seed, see
`data/*.sql`); entities and scenarios are built in Python and loaded in one parameter each.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import duckdb

from databricks_exporter.sim.data import billing, jobs, pipelines, queries, warehouses
from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    BULK_WORKSPACES,
    CLOUD,
    DEFAULT_WAREHOUSE_ID,
    DEFAULT_WORKSPACE_ID,
    EXPORTER_PRINCIPAL,
    ODD_JOB_NAME,
    ODD_PIPELINE_NAME,
    ODD_RESULT_STATE,
    ODD_SKU,
    ODD_TAG_VALUE,
    ODD_UPDATE_TYPE,
    OVERLAP_WORKSPACE,
    PRESETS,
    SCENARIO_WORKSPACE,
)
from databricks_exporter.sim.data.loading import load_temp, run_script
from databricks_exporter.sim.data.plan import Plan
from databricks_exporter.sim.data.scenarios import SCENARIOS, Scenario, insert_scenarios
from databricks_exporter.sim.data.timeline import Anchors

__all__ = [
    "ACCOUNT_ID",
    "BULK_WORKSPACES",
    "CATALOG",
    "CLOUD",
    "DEFAULT_WAREHOUSE_ID",
    "DEFAULT_WORKSPACE_ID",
    "EXPORTER_PRINCIPAL",
    "ODD_VALUES",
    "OVERLAP_WORKSPACE",
    "SCENARIOS",
    "SCENARIO_WORKSPACE",
    "TABLES",
    "WORKSPACES",
    "Anchors",
    "GenerationStats",
    "Scenario",
    "create_database",
    "generate",
    "workspaces",
]

CATALOG = "databricks_system"

#: Every table, by its Databricks name.
TABLES = (
    "system.billing.usage",
    "system.billing.list_prices",
    "system.lakeflow.jobs",
    "system.lakeflow.job_run_timeline",
    "system.lakeflow.job_task_run_timeline",
    "system.lakeflow.pipelines",
    "system.lakeflow.pipeline_update_timeline",
    "system.query.history",
    "system.compute.warehouses",
    "system.compute.warehouse_events",
)

#: The deliberately awkward label values, by the column they appear in.
ODD_VALUES: Mapping[str, str] = {
    "job_run_timeline.result_state": ODD_RESULT_STATE,
    "pipeline_update_timeline.update_type": ODD_UPDATE_TYPE,
    "usage.sku_name": ODD_SKU,
    "usage.custom_tags.team": ODD_TAG_VALUE,
    "jobs.name": ODD_JOB_NAME,
    "pipelines.name": ODD_PIPELINE_NAME,
}


def workspaces(scale: Literal["small", "large"]) -> tuple[str, ...]:
    """Every workspace id of a preset: its bulk workspaces, then the two scenario ones."""
    bulk = BULK_WORKSPACES[: PRESETS[scale].workspaces]
    return (*bulk, SCENARIO_WORKSPACE, OVERLAP_WORKSPACE)


#: The workspaces of the small preset.
WORKSPACES = workspaces("small")


@dataclass(frozen=True)
class GenerationStats:
    """Rows per table (by Databricks name) and the seconds `generate` took."""

    rows: Mapping[str, int]
    seconds: float


def create_database(path: str | None = None) -> duckdb.DuckDBPyConnection:
    """In-memory (path None) or file DuckDB with catalog databricks_system, schema applied, UTC."""
    con = duckdb.connect(":memory:")
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    target = ":memory:" if path is None else path.replace("'", "''")
    # In-memory tables are compressed at each checkpoint: the large preset then holds 330 MB
    # instead of 2.3 GB. Files are always compressed.
    con.execute(f"ATTACH '{target}' AS {CATALOG}" + (" (COMPRESS)" if path is None else ""))
    schema = resources.files("databricks_exporter.sim").joinpath("schema.sql")
    con.execute(schema.read_text(encoding="utf-8"))
    return con


def generate(
    con: duckdb.DuckDBPyConnection,
    *,
    seed: int,
    scale: Literal["small", "large"],
    now: dt.datetime,
    size_factor: float = 1.0,
) -> GenerationStats:
    """Replace every table's rows with data drawn from `seed`, anchored to `now` (aware, UTC)."""
    if scale not in PRESETS:
        raise ValueError(f"scale must be one of {sorted(PRESETS)}, not {scale!r}")
    if not size_factor > 0:
        raise ValueError(f"size_factor must be positive, not {size_factor!r}")
    plan = Plan(seed=seed, preset=PRESETS[scale], factor=size_factor, anchors=Anchors.of(now))
    started = time.perf_counter()
    _fill(con, plan)
    con.execute(f"CHECKPOINT {CATALOG}")
    return GenerationStats(rows=_row_counts(con), seconds=time.perf_counter() - started)


def _fill(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    for table in TABLES:
        con.execute(f"DELETE FROM {_local(table)}")
    load_temp(con, "gen_params", [plan.params()])
    run_script(con, "macros.sql")
    try:
        bulk_jobs = jobs.generate_jobs(con, plan)
        bulk_pipelines = pipelines.generate_pipelines(con, plan)
        bulk_warehouses = warehouses.generate_warehouses(con, plan)
        queries.generate_queries(con, plan, bulk_warehouses)
        billing.generate_billing(con, plan, bulk_jobs, bulk_pipelines, bulk_warehouses)
        insert_scenarios(con, plan.anchors)
    finally:
        run_script(con, "cleanup.sql")


def _local(table: str) -> str:
    return CATALOG + table.removeprefix("system")


def _row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        row = con.execute(f"SELECT count(*) FROM {_local(table)}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
