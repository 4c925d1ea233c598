"""Bulk jobs: their definitions, the SCD2 rows of `lakeflow.jobs`, and (through `jobs.sql`)
`lakeflow.job_run_timeline` and `lakeflow.job_task_run_timeline`.

Per workspace, job 0 is a continuous job whose current run started 2 h (+10 min per workspace
index) before the hour of `now` and is still running; job 1 is a daily marathon of many
hours; then a few long jobs (often over 3 h), medium ones and quick ones. The last two jobs
are a SUBMIT_RUN and a WORKFLOW_RUN job, which have no `lakeflow.jobs` row. One quick job is
deleted 6 h before `now` (its runs stop there), some jobs are renamed, and one paused job has
a name row but no runs. Job ids repeat across workspaces on purpose: they are unique only
within a workspace. Run ids are unique everywhere.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

import duckdb

from databricks_exporter.sim.data import rand
from databricks_exporter.sim.data.catalog import ACCOUNT_ID, PROJECTS, TASK_KEYS, TEAMS, USERS
from databricks_exporter.sim.data.loading import Row, insert_rows, load_temp, run_script
from databricks_exporter.sim.data.plan import Plan
from databricks_exporter.sim.data.timeline import HOUR, micros, moment

_US = dt.timedelta(microseconds=1)
_CHECKPOINT_AFTER = 20_000


@dataclass(frozen=True)
class JobClass:
    """How a kind of job runs: mean duration, period between runs, spread, task count."""

    mean: dt.timedelta
    period: tuple[float, float]
    sigma: float
    tasks: tuple[int, int]
    dbu_per_hour: float


CLASSES = {
    "continuous": JobClass(dt.timedelta(hours=11, minutes=50), (43200, 43200), 0.0, (1, 1), 6),
    "marathon": JobClass(dt.timedelta(hours=9), (86400, 86400), 0.3, (2, 2), 14),
    "long": JobClass(dt.timedelta(hours=2, minutes=30), (14400, 28800), 0.35, (3, 5), 9),
    "medium": JobClass(dt.timedelta(minutes=35), (3600, 10800), 0.5, (2, 4), 4),
    "quick": JobClass(dt.timedelta(minutes=4), (1200, 3600), 0.7, (1, 2), 1.5),
}
_VERBS = ("ingest", "refresh", "export", "train", "score", "compact", "sync", "audit")
_NOUNS = ("orders", "customers", "clickstream", "invoices", "inventory", "features", "events")


@dataclass(frozen=True)
class Job:
    """One bulk job; the fields are the columns of the `gen_jobs` temporary table."""

    workspace_id: str
    ws_index: int
    job_id: str
    job_key: int
    klass: str
    name: str
    run_type: str
    trigger_type: str
    serverless: bool
    cluster_id: str
    run_as: str
    team: str | None
    project: str | None
    period_us: int
    phase_us: int
    jitter_us: int
    mean_us: int
    sigma: float
    slots: int
    until_us: int
    n_tasks: int
    task_keys: tuple[str, ...]
    deleted: bool = False


def class_names(count: int) -> list[str]:
    """The classes of a workspace's `count` jobs, in job order."""
    head = ["continuous", "marathon"] + ["long"] * max(2, count // 10)
    return (head + ["medium"] * (count * 3 // 10) + ["quick"] * count)[:count]


def build_jobs(plan: Plan) -> list[Job]:
    """Every bulk job of every bulk workspace."""
    count = plan.preset.jobs_per_workspace
    jobs = [
        _job(plan, wi, n, klass)
        for wi in range(len(plan.workspaces))
        for n, klass in enumerate(class_names(count))
    ]
    return [_with_run_type(job, count) for job in jobs]


def _job(plan: Plan, wi: int, n: int, klass: str) -> Job:
    seed, shape = plan.seed, CLASSES[klass]
    period = _period(plan, wi, n, klass)
    tasks = shape.tasks[0] + int(
        rand.unit(seed, "tasks", wi, n) * (shape.tasks[1] - shape.tasks[0] + 1)
    )
    team = rand.pick(TEAMS, seed, "team", wi, n) if rand.unit(seed, "tagged", wi, n) < 0.8 else None
    history = plan.preset.job_history
    return Job(
        workspace_id=plan.workspaces[wi],
        ws_index=wi,
        job_id=str(1000 + n),
        job_key=(wi + 1) * 1000 + n,
        klass=klass,
        name=_name(seed, wi, n),
        run_type="JOB_RUN",
        trigger_type=_trigger(seed, wi, n, klass),
        serverless=klass != "continuous" and rand.unit(seed, "serverless", wi, n) < 0.3,
        cluster_id=f"0101-{wi:02d}{n:04d}-{rand.hex_id(8, 'cluster', wi, n)}",
        run_as=rand.pick(USERS, seed, "run_as", wi, n),
        team=team,
        project=rand.pick(PROJECTS, seed, "project", wi, n) if team else None,
        period_us=period,
        phase_us=_phase(plan, wi, period, klass),
        jitter_us=0 if klass == "continuous" else period // 5,
        mean_us=shape.mean // _US,
        sigma=shape.sigma,
        slots=math.ceil(history / (period * _US)) + 1,
        until_us=micros(plan.anchors.now + HOUR),
        n_tasks=tasks,
        task_keys=TASK_KEYS[:tasks],
    )


def _name(seed: int, wi: int, n: int) -> str:
    return f"{rand.pick(_VERBS, seed, 'verb', wi, n)}_{rand.pick(_NOUNS, seed, 'noun', wi, n)}_{n}"


def _period(plan: Plan, wi: int, n: int, klass: str) -> int:
    low, high = CLASSES[klass].period
    seconds = rand.between(low, high, plan.seed, "period", wi, n)
    if klass != "continuous":
        seconds /= plan.preset.run_rate * plan.factor
    return int(seconds * 1_000_000)


def _phase(plan: Plan, wi: int, period_us: int, klass: str) -> int:
    if klass != "continuous":
        return int(rand.unit(plan.seed, "phase", wi, period_us) * period_us)
    target = plan.anchors.hour - 2 * HOUR - wi * dt.timedelta(minutes=10)
    return (micros(target) - plan.since(plan.preset.job_history)) % period_us


def _trigger(seed: int, wi: int, n: int, klass: str) -> str:
    if klass == "continuous":
        return "CONTINUOUS"
    if klass == "marathon":
        return "CRON"
    return rand.pick(("CRON", "PERIODIC", "FILE_ARRIVAL", "TABLE", "ONETIME"), seed, "trig", wi, n)


def _with_run_type(job: Job, count: int) -> Job:
    """The last two jobs of a workspace are submit and notebook-workflow runs; one is deleted."""
    n = int(job.job_id) - 1000
    if n == count - 1:
        return replace(job, run_type="SUBMIT_RUN", trigger_type="ONETIME")
    if n == count - 2:
        return replace(job, run_type="WORKFLOW_RUN", trigger_type="ONETIME")
    if n == count - 3:
        return replace(job, deleted=True, until_us=job.until_us - 7 * HOUR // _US)
    return job


def name_rows(plan: Plan, jobs: list[Job]) -> Iterator[Row]:
    """SCD2 rows of `lakeflow.jobs`: creation, edits, renames, deletions, one paused job."""
    for job in jobs:
        if job.run_type == "JOB_RUN":
            yield from _history(plan, job)
    count = plan.preset.jobs_per_workspace
    for wi, workspace_id in enumerate(plan.workspaces):
        paused = _name_row(plan, workspace_id, str(1000 + count), "archive_legacy_exports", wi)
        yield {**paused, "paused": True, "trigger_type": "CRON"}


def _history(plan: Plan, job: Job) -> Iterator[Row]:
    seed, key = plan.seed, (job.ws_index, job.job_id)
    created = plan.anchors.day - dt.timedelta(days=rand.between(30, 300, seed, "created", *key))
    first = {
        **_name_row(plan, job.workspace_id, job.job_id, job.name, job.ws_index),
        "create_time": created,
    }
    first |= {"change_time": created, "trigger_type": job.trigger_type, "run_as": job.run_as}
    first |= {"tags": {"team": job.team, "project": job.project} if job.team else None}
    yield first
    edited = created + dt.timedelta(days=rand.between(1, 25, seed, "edited", *key))
    if rand.unit(seed, "edits", *key) < 0.5:
        yield {**first, "change_time": edited, "timeout_seconds": 7200}
    if rand.unit(seed, "renamed", *key) < 0.2 or job.job_id == "1002":
        renamed = plan.anchors.now - dt.timedelta(
            days=rand.between(1, 10, seed, "renamed_at", *key)
        )
        yield {**first, "change_time": renamed, "name": f"{job.name}_v2"}
    if job.deleted:
        gone = moment(job.until_us) + dt.timedelta(minutes=5)
        yield {**first, "change_time": gone, "delete_time": gone}


def _name_row(plan: Plan, workspace_id: str, job_id: str, name: str, wi: int) -> dict[str, object]:
    created = plan.anchors.day - dt.timedelta(days=200)
    return {
        "account_id": ACCOUNT_ID,
        "workspace_id": workspace_id,
        "job_id": job_id,
        "name": name,
        "description": f"{name.replace('_', ' ')} (synthetic)",
        "creator_id": str(4_000_000_000_000 + wi * 1000 + int(job_id)),
        "tags": None,
        "change_time": created,
        "delete_time": None,
        "run_as": USERS[0],
        "trigger_type": "PERIODIC",
        "paused": False,
        "timeout_seconds": 0,
        "create_time": created,
    }


def generate_jobs(con: duckdb.DuckDBPyConnection, plan: Plan) -> list[Job]:
    """Fill the job tables from the bulk jobs; returns the jobs for the billing sources."""
    jobs = build_jobs(plan)
    # One workspace at a time, checkpointing big ones, for the reason given in queries.py.
    for workspace_id in plan.workspaces:
        mine = [job for job in jobs if job.workspace_id == workspace_id]
        load_temp(con, "gen_jobs", [asdict(job) for job in mine])
        run_script(con, "jobs.sql")
        if sum(job.slots for job in mine) > _CHECKPOINT_AFTER:
            con.execute("CHECKPOINT databricks_system")
    insert_rows(con, "databricks_system.lakeflow.jobs", list(name_rows(plan, jobs)))
    return jobs
