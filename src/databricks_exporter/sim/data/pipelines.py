"""Bulk pipelines: definitions, SCD2 rows of `lakeflow.pipelines`, and (through
`pipelines.sql`) `lakeflow.pipeline_update_timeline`.

Per workspace, pipeline 0 is continuous: its current update started 2 h (+10 min per workspace
index) before the hour of `now` and is still running. Every other pipeline runs requests on a
period; a request is usually one update, sometimes two or three (restarts triggered by
RETRY_ON_FAILURE under the same request_id). Pipeline 1 is flaky: every one of its requests
is restarted once or twice, whatever the seed; it is also renamed. Every few requests is a
FULL_REFRESH, a few are VALIDATE, the rest REFRESH. The last pipeline was deleted 30 h before
`now` and has no updates after that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import duckdb

from databricks_exporter.sim.data import rand
from databricks_exporter.sim.data.catalog import ACCOUNT_ID, TEAMS, USERS
from databricks_exporter.sim.data.loading import Row, insert_rows, load_temp, run_script
from databricks_exporter.sim.data.plan import Plan
from databricks_exporter.sim.data.timeline import HOUR, micros

_US = dt.timedelta(microseconds=1)
_CONTINUOUS_PERIOD = 6 * HOUR
_TRIGGERS = ("JOB_TASK", "JOB_TASK", "USER_ACTION", "DBSQL_REQUEST", "SCHEMA_CHANGE", "API_CALL")
_NAMES = ("orders", "customers", "sessions", "payments", "shipments", "reviews", "ledger")


@dataclass(frozen=True)
class Pipeline:
    """One bulk pipeline; the fields are the columns of the `gen_pipelines` temporary table."""

    workspace_id: str
    ws_index: int
    pipeline_id: str
    pipe_key: int
    name: str
    edition: str
    serverless: bool
    continuous: bool
    trigger_type: str
    job_id: str | None
    run_as: str
    team: str
    period_us: int
    phase_us: int
    jitter_us: int
    mean_us: int
    sigma: float
    full_every: int
    slots: int
    until_us: int
    deleted: bool
    flaky: bool


def build_pipelines(plan: Plan) -> list[Pipeline]:
    """Every bulk pipeline of every bulk workspace."""
    count = plan.preset.pipelines_per_workspace
    return [_pipeline(plan, wi, n) for wi in range(len(plan.workspaces)) for n in range(count)]


def _pipeline(plan: Plan, wi: int, n: int) -> Pipeline:
    seed, key = plan.seed, (wi, n)
    continuous, deleted = n == 0, n == plan.preset.pipelines_per_workspace - 1
    period = _period(plan, wi, n, continuous)
    trigger = "USER_ACTION" if continuous else rand.pick(_TRIGGERS, seed, "trigger", *key)
    mean = (_CONTINUOUS_PERIOD - dt.timedelta(minutes=10)) // _US if continuous else 0
    until = plan.anchors.now - (30 * HOUR if deleted else -HOUR)
    return Pipeline(
        workspace_id=plan.workspaces[wi],
        ws_index=wi,
        pipeline_id=rand.stable_uuid("pipeline", wi, n),
        pipe_key=(wi + 1) * 1000 + n,
        name=f"{rand.pick(_NAMES, seed, 'name', *key)}_dlt_{n}",
        edition=rand.pick(("CORE", "ADVANCED"), seed, "edition", *key),
        serverless=rand.unit(seed, "serverless", *key) < 0.4,
        continuous=continuous,
        trigger_type=trigger,
        job_id=str(1000 + n) if trigger == "JOB_TASK" else None,
        run_as=rand.pick(USERS, seed, "run_as", *key),
        team=rand.pick(TEAMS, seed, "team", *key),
        period_us=period,
        phase_us=_phase(plan, wi, n, period, continuous),
        jitter_us=0 if continuous else period // 6,
        mean_us=mean or int(rand.between(600, 5400, seed, "mean", *key) * 1_000_000),
        sigma=0.0 if continuous else 0.4,
        full_every=rand.pick((4, 7, 12, 30), seed, "full", *key),
        slots=math.ceil(plan.preset.pipeline_history / (period * _US)) + 1,
        until_us=micros(until),
        deleted=deleted,
        flaky=n == 1,
    )


def _period(plan: Plan, wi: int, n: int, continuous: bool) -> int:
    if continuous:
        return _CONTINUOUS_PERIOD // _US
    seconds = rand.between(3600, 43200, plan.seed, "period", wi, n)
    return int(seconds / (plan.preset.run_rate * plan.factor) * 1_000_000)


def _phase(plan: Plan, wi: int, n: int, period_us: int, continuous: bool) -> int:
    if not continuous:
        return int(rand.unit(plan.seed, "phase", wi, n) * period_us)
    target = plan.anchors.hour - 2 * HOUR - wi * dt.timedelta(minutes=10)
    return (micros(target) - plan.since(plan.preset.pipeline_history)) % period_us


def name_rows(plan: Plan, pipelines: list[Pipeline]) -> Iterator[Row]:
    """SCD2 rows of `lakeflow.pipelines`: creation, a settings edit, renames, deletions."""
    for pipeline in pipelines:
        seed, key = plan.seed, (pipeline.ws_index, pipeline.pipe_key)
        created = plan.anchors.day - dt.timedelta(days=rand.between(20, 250, seed, "created", *key))
        first = _name_row(pipeline, created)
        yield first
        if rand.unit(seed, "edited", *key) < 0.5:
            edited = created + dt.timedelta(days=rand.between(1, 15, seed, "edited_at", *key))
            yield {**first, "change_time": edited, "configuration": {"pipelines.trigger": "1h"}}
        if pipeline.pipe_key % 1000 == 1 or rand.unit(seed, "renamed", *key) < 0.2:
            renamed = plan.anchors.now - dt.timedelta(days=rand.between(1, 6, seed, "ren", *key))
            yield {**first, "change_time": renamed, "name": f"{pipeline.name}_renamed"}
        if pipeline.deleted:
            gone = plan.anchors.now - 30 * HOUR + dt.timedelta(minutes=5)
            yield {**first, "change_time": gone, "delete_time": gone}


def _name_row(pipeline: Pipeline, created: dt.datetime) -> dict[str, object]:
    settings: dict[str, object] = {"photon": pipeline.edition == "ADVANCED"}
    settings |= {"development": False}
    settings |= {"continuous": pipeline.continuous, "serverless": pipeline.serverless}
    settings |= {"edition": pipeline.edition, "channel": "CURRENT"}
    return {
        "account_id": ACCOUNT_ID,
        "workspace_id": pipeline.workspace_id,
        "pipeline_id": pipeline.pipeline_id,
        "pipeline_type": "ETL_PIPELINE",
        "name": pipeline.name,
        "created_by": pipeline.run_as,
        "run_as": pipeline.run_as,
        "tags": {"team": pipeline.team},
        "settings": settings,
        "configuration": None,
        "change_time": created,
        "delete_time": None,
        "create_time": created,
    }


def generate_pipelines(con: duckdb.DuckDBPyConnection, plan: Plan) -> list[Pipeline]:
    """Fill the pipeline tables; returns the pipelines for the billing sources."""
    pipelines = build_pipelines(plan)
    load_temp(con, "gen_pipelines", [asdict(pipeline) for pipeline in pipelines])
    run_script(con, "pipelines.sql")
    insert_rows(con, "databricks_system.lakeflow.pipelines", list(name_rows(plan, pipelines)))
    return pipelines
