"""The named scenarios: hand-built rows with fixed ids whose expected metrics are known.

Notation: A = `now` truncated to the hour, D = the start of `now`'s UTC date; windows are the
defaults of METRICS.md (24 h jobs and pipelines, 1 h queries, 30 d billing, 90 d prices).
Job and pipeline scenarios live in SCENARIO_WORKSPACE, placed in minutes from A, so every one
of them is well inside (or well outside) its window whatever the minute of `now`. Query
scenarios are placed in seconds before `now`. Slices are clock-hour slices (see timeline.py).
The rows do not depend on the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from databricks_exporter.sim.data import (
    scenario_billing,
    scenario_jobs,
    scenario_pipelines,
    scenario_queries,
)
from databricks_exporter.sim.data.catalog import OVERLAP_WORKSPACE, SCENARIO_WORKSPACE
from databricks_exporter.sim.data.loading import insert_rows
from databricks_exporter.sim.data.timeline import Anchors

_S, _Q = SCENARIO_WORKSPACE, OVERLAP_WORKSPACE
_P = scenario_pipelines


@dataclass(frozen=True)
class Scenario:
    """A hand-built case: its workspace (None: NULL workspace_id), fixed ids and guarantees."""

    workspace_id: str | None
    table: str
    description: str
    ids: Mapping[str, str] = field(default_factory=dict)


def _run(job_id: str, run_id: str) -> dict[str, str]:
    return {"job_id": job_id, "run_id": run_id}


_JOBS = "system.lakeflow.job_run_timeline"
_PIPES = "system.lakeflow.pipeline_update_timeline"
_USAGE = "system.billing.usage"
_QUERIES = "system.query.history"

SCENARIOS: Mapping[str, Scenario] = {
    "job_3h": Scenario(_S, _JOBS, (
        "Run 900101 of job 9001: A-4h50m to A-1h40m, 11400 s, 4 slices, final SUCCEEDED; "
        "misses a 3600 s SLA. One task run 90010101 (task 'main') with the same 4 slices and "
        "no retries. Job 9001 was renamed 3 days before A (name rows 'scenario_three_hours' "
        "then 'scenario_three_hours_v2')."
    ), _run("9001", "900101")),
    "job_repaired": Scenario(_S, _JOBS, (
        "Run 900201 of job 9002: attempt A-10h to A-8h30m (2 slices, FAILED), repair A-8h to "
        "A-6h20m (2 slices, SUCCEEDED). Two terminal rows; final state SUCCEEDED; duration "
        "A-10h..A-6h20m = 13200 s. Task 'ingest' has task runs 90020101 (FAILED) and "
        "90020102 (SUCCEEDED): 1 retry."
    ), _run("9002", "900201")),
    "job_task_retries": Scenario(_S, _JOBS, (
        "Run 900301 of job 9003: A-5h45m to A-3h15m, 9000 s, 3 slices, SUCCEEDED. Task 'load' "
        "has task runs 90030101, 90030102 (FAILED, 10 min each) and 90030103 (SUCCEEDED): "
        "2 retries. Task 'transform' is one task run 90030201, A-5h10m to A-3h15m, sliced "
        "in 3, 0 retries."
    ), _run("9003", "900301")),
    "job_in_progress": Scenario(_S, _JOBS, (
        "Run 900401 of job 9004 started A-2h30m and ends A+10h: slices A-2h30m..A-2h, "
        "A-2h..A-1h, A-1h..A, no terminal row. Active in the window, not finished. Task run "
        "90040101 likewise."
    ), _run("9004", "900401")),
    "job_before_window": Scenario(_S, _JOBS, (
        "Run 900501 of job 9005: A-43h30m to A-45m, 153900 s, 44 slices, final TIMED_OUT; "
        "it started 19.5 to 20.5 h before a 24 h window opens and ended inside it. Task run "
        "90050101 likewise."
    ), _run("9005", "900501")),
    "job_odd_state": Scenario(_S, _JOBS, (
        "Run 900601 of job 9006: A-2h55m to A-2h30m, 1500 s, 1 slice, result_state "
        "ODD_RESULT_STATE (quote, backslash, newline, unicode). Job 9006's name is "
        "ODD_JOB_NAME."
    ), _run("9006", "900601")),
    "job_outside_window": Scenario(_S, _JOBS, (
        "Run 900701 of job 9007: A-30h to A-29h30m, SUCCEEDED: no slice ends inside a 24 h "
        "window. Job 9007 is deleted: its latest name row has delete_time A-20h."
    ), _run("9007", "900701")),
    "job_short_crossing": Scenario(_S, _JOBS, (
        "Run 900801 of job 9008: A-12h10m to A-11h50m, 1200 s, 2 slices (it crosses a clock "
        "hour), FAILED."
    ), _run("9008", "900801")),
    "job_no_name": Scenario(_S, _JOBS, (
        "Run 900901 of job 9009 (SUBMIT_RUN): A-6h55m to A-6h05m, 3000 s, 1 slice, "
        "SUCCEEDED. Job 9009 has no lakeflow.jobs row."
    ), _run("9009", "900901")),
    "jobs_totals": Scenario(_S, _JOBS, (
        "Over the 24 h window the scenario workspace has: 8 runs (all but 900701); finished: "
        "SUCCEEDED 4, FAILED 1, TIMED_OUT 1, ODD_RESULT_STATE 1; durations [1200, 1500, 3000, "
        "9000, 11400, 13200, 153900] s so p50 9000, p95 and p99 153900; SLA (3600 s) misses "
        "4; task retries 3."
    )),
    "pipeline_restarts": Scenario(_S, _PIPES, (
        "Pipeline 1, request 1, REFRESH: update 1 A-9h..A-8h30m FAILED (JOB_TASK), update 2 "
        "A-8h25m..A-8h10m FAILED, update 3 A-8h05m..A-6h20m COMPLETED in 3 slices (both "
        "RETRY_ON_FAILURE): 2 restarts."
    ), {"pipeline_id": _P.pipeline_id(1), "request_id": _P.request_id(1, 1)}),
    "pipeline_in_progress": Scenario(_S, _PIPES, (
        "Pipeline 2: update 2 started A-2h30m and ends A+5h (3 slices, none terminal); "
        "update 1 COMPLETED REFRESH A-25h..A-24h10m, outside the 24 h window but the "
        "pipeline's latest completed REFRESH."
    ), {"pipeline_id": _P.pipeline_id(2), "update_id": _P.update_id(2, 2)}),
    "pipeline_stages": Scenario(_S, _PIPES, (
        "Pipeline 3 (renamed 2 days before A): FULL_REFRESH COMPLETED A-48h20m..A-48h, "
        "REFRESH CANCELED A-5h..A-4h40m, VALIDATE COMPLETED A-3h20m..A-3h10m."
    ), {"pipeline_id": _P.pipeline_id(3)}),
    "pipeline_stale": Scenario(_S, _PIPES, (
        "Pipeline 4 (deleted 7 days before A): its only update, a COMPLETED REFRESH, ended "
        "8 days before A, outside the 7-day freshness horizon."
    ), {"pipeline_id": _P.pipeline_id(4)}),
    "pipeline_odd_type": Scenario(_S, _PIPES, (
        "Pipeline 5 (named ODD_PIPELINE_NAME): update_type ODD_UPDATE_TYPE, COMPLETED "
        "A-6h40m..A-6h10m."
    ), {"pipeline_id": _P.pipeline_id(5)}),
    "pipelines_totals": Scenario(_S, _PIPES, (
        "Over the 24 h window: 7 updates; finished FAILED 2, COMPLETED 3, CANCELED 1; "
        "durations [600, 900, 1200, 1800, 1800, 6300] s so p50 1200, p95 and p99 6300; "
        "restarts 2. Freshness (now - end of the latest COMPLETED update per pipeline and "
        "type within 7 days, averaged over pipelines): REFRESH mean of 380 and 1450 minutes "
        "before A, FULL_REFRESH 2880, VALIDATE 190, ODD_UPDATE_TYPE 370 minutes before A "
        "(each plus now - A)."
    )),
    "billing_price_change": Scenario(_S, _USAGE, (
        "PREMIUM_JOBS_COMPUTE costs 0.15 USD until D-10d and 0.20 from then on. ORIGINAL "
        "rows of 10.5 DBU at D-15d 10:00-11:00 (cost 1.575) and D-5d 10:00-11:00 (cost 2.1)."
    )),
    "billing_correction": Scenario(_S, _USAGE, (
        "At D-8d 12:00-13:00, PREMIUM_JOBS_COMPUTE: ORIGINAL 7.123456789012345678, "
        "RETRACTION -7.123456789012345678, RESTATEMENT 6.5: the day nets 6.5 DBU, cost 1.3. "
        "custom_tags are an empty map."
    )),
    "billing_lone_retraction": Scenario(_S, _USAGE, (
        "At D-6d 03:00-04:00, PREMIUM_JOBS_COMPUTE: ORIGINAL 2.25 and RETRACTION -2.25, no "
        "restatement: the day nets 0 (a zero series, not an absent one). No custom_tags."
    )),
    "billing_null_workspace": Scenario(None, _USAGE, (
        "PREMIUM_SERVERLESS_CONNECTIVITY rows with NULL workspace_id: 3.333333333333333333 DBU "
        "at D-2d 05:00 and 1.5 DBU at D-9d 05:00 (price 0.10). The bulk has no NULL "
        "workspace_id rows."
    )),
    "billing_non_dbu": Scenario(_S, _USAGE, (
        "A daily PREMIUM_DEFAULT_STORAGE_US_EAST_N_VIRGINIA row, D-4d to D-3d, 48000.5 "
        "GB_HOUR (price 0.000031 per GB_HOUR): not DBUs."
    )),
    "billing_odd_sku": Scenario(_S, _USAGE, (
        "1.0 DBU of ODD_SKU at D-7d 09:00 (price 1.00) with custom_tags team=ODD_TAG_VALUE."
    )),
    "queries_overlap": Scenario(_Q, _QUERIES, (
        "Statements in seconds before now, half-open: [-1800,-1200) FINISHED, [-1700,-1500) "
        "FAILED, [-1650,-1550) CANCELED without duration, [-1600,-1580) FINISHED: peak 4. "
        "Three [-900,-600) and two [-600,-300) (one FAILED) touch at -600 and do not "
        "overlap (a wrong tie order counts 5). [-120, NULL) RUNNING. Two traps that would "
        "each make the peak 5: [-3700,-1590) started before the 1 h window, and "
        "[-1610,-1585) carries app=databricks-exporter. Expected: 10 statements, 2 errors, "
        "durations [20, 200, 300 x5, 600] s (p50 300, p95 600, p99 600), peak running 4."
    )),
    "queries_scenario": Scenario(_S, _QUERIES, (
        "[-300,-240) FINISHED tagged app=dbt; [-200,-100) from the exporter's principal "
        "tagged app=databricks-exporter; [-50, NULL) RUNNING on serverless compute "
        "(compute.type SERVERLESS_COMPUTE, no warehouse). Expected: 2 statements, 0 errors, "
        "durations [60] s, peak running 1."
    )),
}  # fmt: skip


def insert_scenarios(con: duckdb.DuckDBPyConnection, anchors: Anchors) -> None:
    """Append every scenario row."""
    tables = {
        "lakeflow.job_run_timeline": scenario_jobs.job_run_rows(anchors),
        "lakeflow.job_task_run_timeline": scenario_jobs.task_run_rows(anchors),
        "lakeflow.jobs": scenario_jobs.job_name_rows(anchors),
        "lakeflow.pipeline_update_timeline": scenario_pipelines.update_rows(anchors),
        "lakeflow.pipelines": scenario_pipelines.pipeline_name_rows(anchors),
        "billing.usage": scenario_billing.usage_rows(anchors),
        "query.history": scenario_queries.statement_rows(anchors),
        "compute.warehouses": scenario_queries.warehouse_rows(anchors),
        "compute.warehouse_events": scenario_queries.warehouse_event_rows(anchors),
    }
    for table, rows in tables.items():
        insert_rows(con, f"databricks_system.{table}", list(rows))
