"""Hand-built job runs and pipeline updates of the scenario workspace, with fixed ids.

Times are minutes from the anchor hour A (`now` truncated to the hour), so every scenario
sits in the same place of its window whatever the minute of `now`. The expected values are
spelled out in `scenarios.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    ODD_JOB_NAME,
    ODD_RESULT_STATE,
    SCENARIO_WORKSPACE,
    USERS,
)
from databricks_exporter.sim.data.loading import Row
from databricks_exporter.sim.data.timeline import Anchors, slices


@dataclass(frozen=True)
class Span:
    """[start, end) in minutes from A, and the state its terminal slice carries."""

    start: int
    end: int
    state: str | None


@dataclass(frozen=True)
class TaskRun:
    """One task run (one attempt of a task) of a scenario job run."""

    task_key: str
    run_id: str
    span: Span


@dataclass(frozen=True)
class JobRun:
    """A scenario job run: its attempts (the first, then repairs) and its task runs."""

    job_id: str
    run_id: str
    attempts: tuple[Span, ...]
    tasks: tuple[TaskRun, ...]
    run_type: str = "JOB_RUN"


def _single(job_id: str, run_id: str, span: Span, run_type: str = "JOB_RUN") -> JobRun:
    return JobRun(job_id, run_id, (span,), (TaskRun("main", f"{run_id}01", span),), run_type)


_RETRIES = (
    TaskRun("load", "90030101", Span(-345, -335, "FAILED")),
    TaskRun("load", "90030102", Span(-335, -325, "FAILED")),
    TaskRun("load", "90030103", Span(-325, -310, "SUCCEEDED")),
    TaskRun("transform", "90030201", Span(-310, -195, "SUCCEEDED")),
)
_REPAIRED = (Span(-600, -510, "FAILED"), Span(-480, -380, "SUCCEEDED"))

JOB_RUNS = {
    "job_3h": _single("9001", "900101", Span(-290, -100, "SUCCEEDED")),
    "job_repaired": JobRun(
        "9002",
        "900201",
        _REPAIRED,
        (TaskRun("ingest", "90020101", _REPAIRED[0]), TaskRun("ingest", "90020102", _REPAIRED[1])),
    ),
    "job_task_retries": JobRun("9003", "900301", (Span(-345, -195, "SUCCEEDED"),), _RETRIES),
    "job_in_progress": _single("9004", "900401", Span(-150, 600, None)),
    "job_before_window": _single("9005", "900501", Span(-2610, -45, "TIMED_OUT")),
    "job_odd_state": _single("9006", "900601", Span(-175, -150, ODD_RESULT_STATE)),
    "job_outside_window": _single("9007", "900701", Span(-1800, -1770, "SUCCEEDED")),
    "job_short_crossing": _single("9008", "900801", Span(-730, -710, "FAILED")),
    "job_no_name": _single("9009", "900901", Span(-415, -365, "SUCCEEDED"), "SUBMIT_RUN"),
}

_CODES = {
    "SUCCEEDED": "SUCCESS",
    "FAILED": "RUN_EXECUTION_ERROR",
    "TIMED_OUT": "RUN_EXECUTION_ERROR",
    ODD_RESULT_STATE: "INTERNAL_ERROR",
}

#: (job_id, name, later name or None, deleted at minutes from A or None); 9009 has no row.
JOB_NAMES = (
    ("9001", "scenario_three_hours", "scenario_three_hours_v2", None),
    ("9002", "scenario_repaired", None, None),
    ("9003", "scenario_task_retries", None, None),
    ("9004", "scenario_in_progress", None, None),
    ("9005", "scenario_before_window", None, None),
    ("9006", ODD_JOB_NAME, None, None),
    ("9007", "scenario_deleted", None, -1200),
    ("9008", "scenario_short_crossing", None, None),
)


def _at(anchors: Anchors, minutes: int) -> dt.datetime:
    return anchors.hour + dt.timedelta(minutes=minutes)


def _sliced(anchors: Anchors, span: Span) -> Iterator[tuple[dt.datetime, dt.datetime, str | None]]:
    for start, end, last in slices(_at(anchors, span.start), _at(anchors, span.end), anchors.now):
        yield start, end, span.state if last else None


def job_run_rows(anchors: Anchors) -> Iterator[Row]:
    """`job_run_timeline` rows of every scenario job run."""
    for run in JOB_RUNS.values():
        for span in run.attempts:
            for start, end, state in _sliced(anchors, span):
                yield {
                    **_common(run.job_id),
                    "run_id": run.run_id,
                    "period_start_time": start,
                    "period_end_time": end,
                    "trigger_type": "ONETIME" if run.run_type == "SUBMIT_RUN" else "CRON",
                    "run_type": run.run_type,
                    "run_name": f"scenario run {run.run_id}",
                    "compute_ids": [f"0101-{run.job_id}-scenario"],
                    "result_state": state,
                    "termination_code": _CODES.get(state) if state else None,
                }


def task_run_rows(anchors: Anchors) -> Iterator[Row]:
    """`job_task_run_timeline` rows of every scenario task run."""
    for run in JOB_RUNS.values():
        for task in run.tasks:
            for start, end, state in _sliced(anchors, task.span):
                yield {
                    **_common(run.job_id),
                    "run_id": task.run_id,
                    "job_run_id": run.run_id,
                    "parent_run_id": run.run_id,
                    "period_start_time": start,
                    "period_end_time": end,
                    "task_key": task.task_key,
                    "compute_ids": [f"0101-{run.job_id}-scenario"],
                    "result_state": state,
                    "termination_code": _CODES.get(state) if state else None,
                }


def _common(job_id: str) -> dict[str, object]:
    return {"account_id": ACCOUNT_ID, "workspace_id": SCENARIO_WORKSPACE, "job_id": job_id}


def job_name_rows(anchors: Anchors) -> Iterator[Row]:
    """SCD2 `lakeflow.jobs` rows: 9001 renamed 3 days ago, 9007 deleted at A-20h."""
    created = anchors.day - dt.timedelta(days=100)
    for job_id, name, renamed, deleted in JOB_NAMES:
        row = {**_common(job_id), "name": name, "description": "scenario job"}
        row |= {"creator_id": "4000000009000", "tags": {"team": "scenario"}, "run_as": USERS[0]}
        row |= {"change_time": created, "delete_time": None, "create_time": created}
        yield row
        if renamed:
            yield {**row, "name": renamed, "change_time": anchors.hour - dt.timedelta(days=3)}
        if deleted is not None:
            gone = _at(anchors, deleted)
            yield {**row, "change_time": gone, "delete_time": gone}
