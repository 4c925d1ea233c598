"""The bulk (random) data of the small preset has every case METRICS.md needs, in every bulk
workspace: sliced runs, repairs, runs in progress, task retries, pipeline restarts, billing
corrections, price changes, overlapping and running statements, renamed and deleted names.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from databricks_exporter.sim.generator import create_database, generate

from .test_generator import BULK, DAY, HOUR, NAIVE_NOW, NOW, SEED, Row, bulk_rows, fetch, grouped

WINDOW_START = NAIVE_NOW - 24 * HOUR


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    database = create_database()
    generate(database, seed=SEED, scale="small", now=NOW)
    yield database
    database.close()


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def check_slices(rows: list[Row]) -> None:
    """One run's slices: inside one clock hour each, touching unless a terminal row ends an
    attempt (a repair follows later), result_state and termination-code only on terminal rows."""
    for row in rows:
        start, end = row["period_start_time"], row["period_end_time"]
        assert start < end <= NAIVE_NOW
        assert hour_of(start) == hour_of(end - dt.timedelta(microseconds=1)), row
        if row["result_state"] is None:
            assert end == hour_of(end), "a non-terminal slice ends on the hour"
    for before, after in itertools.pairwise(rows):
        if before["result_state"] is None:
            assert after["period_start_time"] == before["period_end_time"]
        else:
            assert after["period_start_time"] > before["period_end_time"]


def runs_of(con: duckdb.DuckDBPyConnection) -> dict[tuple[Any, ...], list[Row]]:
    return grouped(bulk_rows(con, "system.lakeflow.job_run_timeline"), "workspace_id", "run_id")


def final_state(rows: list[Row]) -> str | None:
    terminal = [row for row in rows if row["result_state"] is not None]
    return (
        max(terminal, key=lambda row: row["period_end_time"])["result_state"] if terminal else None
    )


def per_workspace(keys: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> Counter[str]:
    return Counter(key[0] for key in keys)


# -- jobs -------------------------------------------------------------------------------------


def test_job_run_slices_tile_and_only_terminal_rows_carry_states(
    con: duckdb.DuckDBPyConnection,
) -> None:
    runs = runs_of(con)
    for rows in runs.values():
        check_slices(rows)
        for row in rows:
            assert (row["result_state"] is None) == (row["termination_code"] is None)
    sliced = [key for key, rows in runs.items() if len(rows) > 1]
    assert len(sliced) > 100


def test_repaired_runs_keep_their_run_id_and_end_on_the_last_terminal_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    repaired = {}
    for key, rows in runs_of(con).items():
        terminal = [row for row in rows if row["result_state"] is not None]
        if len(terminal) > 1:
            repaired[key] = terminal
            assert terminal[-1]["period_end_time"] == rows[-1]["period_end_time"]
    assert set(per_workspace(list(repaired))) == set(BULK)
    changed = [t for t in repaired.values() if t[0]["result_state"] != t[-1]["result_state"]]
    assert changed, "some repairs change the final state"


def test_runs_in_progress_have_slices_but_no_terminal_row(con: duckdb.DuckDBPyConnection) -> None:
    running = [key for key, rows in runs_of(con).items() if final_state(rows) is None]
    assert set(per_workspace(running)) == set(BULK)


def test_long_runs_and_runs_started_before_the_window(con: duckdb.DuckDBPyConnection) -> None:
    over_3h, early = [], []
    for key, rows in runs_of(con).items():
        start, end = rows[0]["period_start_time"], rows[-1]["period_end_time"]
        if final_state(rows) is None or end < WINDOW_START:
            continue
        assert start >= WINDOW_START - 20 * HOUR, "no finished run reaches back further"
        if end - start > 3 * HOUR:
            over_3h.append(key)
        if start < WINDOW_START:
            early.append(key)
    assert set(per_workspace(over_3h)) == set(BULK)
    assert set(per_workspace(early)) == set(BULK)


def test_result_states_run_types_and_triggers(con: duckdb.DuckDBPyConnection) -> None:
    runs = runs_of(con)
    states = {final_state(rows) for rows in runs.values()}
    assert states >= {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "SKIPPED", "ERROR"}
    assert "BLOCKED" in states, "a state outside the documented list"
    rows = bulk_rows(con, "system.lakeflow.job_run_timeline")
    assert {row["run_type"] for row in rows} == {"JOB_RUN", "SUBMIT_RUN", "WORKFLOW_RUN"}
    assert len({row["trigger_type"] for row in rows}) >= 5


def test_every_bulk_workspace_has_runs_in_the_last_24h(con: duckdb.DuckDBPyConnection) -> None:
    active = {
        key for key, rows in runs_of(con).items() if rows[-1]["period_end_time"] >= WINDOW_START
    }
    assert all(count > 50 for count in per_workspace(list(active)).values())
    assert set(per_workspace(list(active))) == set(BULK)


def test_task_runs_have_several_keys_retries_and_slices(con: duckdb.DuckDBPyConnection) -> None:
    rows = bulk_rows(con, "system.lakeflow.job_task_run_timeline")
    task_runs = grouped(rows, "workspace_id", "run_id")
    for slices in task_runs.values():
        check_slices(slices)
    keys_per_run: dict[tuple[str, str], set[str]] = {}
    ids: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        keys_per_run.setdefault((row["workspace_id"], row["job_run_id"]), set()).add(
            row["task_key"]
        )
        ids.setdefault((row["workspace_id"], row["job_run_id"], row["task_key"]), set()).add(
            row["run_id"]
        )
    assert max(len(keys) for keys in keys_per_run.values()) >= 3
    retried = [key for key, runs in ids.items() if len(runs) > 1]
    assert set(per_workspace(retried)) == set(BULK)
    assert any(len(slices) > 2 for slices in task_runs.values()), "sliced task runs"
    job_runs = {
        (r["workspace_id"], r["run_id"]) for r in bulk_rows(con, "system.lakeflow.job_run_timeline")
    }
    # A task may finish before its job run's first slice ends: only the current hour's runs.
    for row in rows:
        if (row["workspace_id"], row["job_run_id"]) not in job_runs:
            assert row["period_start_time"] >= hour_of(NAIVE_NOW), row


# -- pipelines --------------------------------------------------------------------------------


def updates_of(con: duckdb.DuckDBPyConnection) -> dict[tuple[Any, ...], list[Row]]:
    rows = bulk_rows(con, "system.lakeflow.pipeline_update_timeline")
    return grouped(rows, "workspace_id", "pipeline_id", "update_id")


def test_pipeline_updates_tile_and_carry_one_terminal_state(con: duckdb.DuckDBPyConnection) -> None:
    updates = updates_of(con)
    for rows in updates.values():
        check_slices(rows)
        assert sum(row["result_state"] is not None for row in rows) <= 1
        assert rows[-1]["result_state"] is not None or rows[-1]["period_end_time"] == hour_of(
            rows[-1]["period_end_time"]
        )
    states = {final_state(rows) for rows in updates.values()}
    assert states == {"COMPLETED", "FAILED", "CANCELED", None}
    types = {rows[0]["update_type"] for rows in updates.values()}
    assert types == {"REFRESH", "FULL_REFRESH", "VALIDATE"}
    in_progress = [key for key, rows in updates.items() if final_state(rows) is None]
    assert set(per_workspace(in_progress)) == set(BULK)


def test_restarts_share_a_request_and_retry_on_failure(con: duckdb.DuckDBPyConnection) -> None:
    requests: dict[tuple[str, str, str], list[list[Row]]] = {}
    for (workspace_id, pipeline_id, _), rows in updates_of(con).items():
        requests.setdefault((workspace_id, pipeline_id, rows[0]["request_id"]), []).append(rows)
    restarted = {key: ups for key, ups in requests.items() if len(ups) > 1}
    assert set(per_workspace(list(restarted))) == set(BULK)
    for updates in restarted.values():
        updates.sort(key=lambda rows: rows[0]["period_start_time"])
        assert all(rows[0]["trigger_type"] == "RETRY_ON_FAILURE" for rows in updates[1:])
        assert all(final_state(rows) in ("FAILED", None) for rows in updates[:-1])


def test_completed_updates_spread_over_the_freshness_horizon(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ends = [
        rows[-1]["period_end_time"]
        for rows in updates_of(con).values()
        if final_state(rows) == "COMPLETED"
    ]
    days = {(NAIVE_NOW - end) // DAY for end in ends if end >= NAIVE_NOW - 7 * DAY}
    assert days == set(range(7))
    recent = {
        (rows[0]["workspace_id"], rows[0]["update_type"])
        for rows in updates_of(con).values()
        if final_state(rows) == "COMPLETED" and rows[-1]["period_end_time"] >= NAIVE_NOW - 7 * DAY
    }
    assert {(w, t) for w in BULK for t in ("REFRESH", "FULL_REFRESH")} <= recent


# -- the same cases whatever the seed ---------------------------------------------------------

_EVERY_WORKSPACE_HAS = {
    "a run in progress": """
        SELECT workspace_id FROM system.lakeflow.job_run_timeline
        GROUP BY workspace_id, run_id HAVING count(result_state) = 0""",
    "a repaired run": """
        SELECT workspace_id FROM system.lakeflow.job_run_timeline
        GROUP BY workspace_id, run_id HAVING count(result_state) > 1""",
    "a finished run over 3 h started before the window and ending in it": """
        SELECT workspace_id FROM system.lakeflow.job_run_timeline
        GROUP BY workspace_id, run_id
        HAVING count(result_state) > 0 AND max(period_end_time) >= $now - INTERVAL 24 HOUR
            AND min(period_start_time) < $now - INTERVAL 24 HOUR""",
    "a task retry in the window": """
        SELECT workspace_id FROM system.lakeflow.job_task_run_timeline
        WHERE period_end_time >= $now - INTERVAL 24 HOUR
        GROUP BY workspace_id, job_run_id, task_key HAVING count(DISTINCT run_id) > 1""",
    "a pipeline restart in the window": """
        SELECT workspace_id FROM system.lakeflow.pipeline_update_timeline
        WHERE period_end_time >= $now - INTERVAL 24 HOUR
        GROUP BY workspace_id, request_id HAVING count(DISTINCT update_id) > 1""",
    "an update in progress": """
        SELECT workspace_id FROM system.lakeflow.pipeline_update_timeline
        GROUP BY workspace_id, update_id HAVING count(result_state) = 0""",
    "a completed FULL_REFRESH within 7 days": """
        SELECT workspace_id FROM system.lakeflow.pipeline_update_timeline
        WHERE update_type = 'FULL_REFRESH' AND result_state = 'COMPLETED'
            AND period_end_time >= $now - INTERVAL 7 DAY""",
    "a running statement": "SELECT workspace_id FROM system.query.history WHERE end_time IS NULL",
    "an exporter statement and a failed one in the last hour": """
        SELECT workspace_id FROM system.query.history
        WHERE start_time >= $now - INTERVAL 1 HOUR GROUP BY workspace_id
        HAVING count_if(query_tags['app'] = 'databricks-exporter') > 0
            AND count_if(execution_status = 'FAILED') > 0""",
    "a correction in the billing window": """
        SELECT workspace_id FROM system.billing.usage
        WHERE record_type = 'RETRACTION' AND usage_date >= $now - INTERVAL 30 DAY""",
}


@pytest.mark.parametrize("seed", [1, 8])
def test_every_bulk_workspace_has_every_case_whatever_the_seed(seed: int) -> None:
    database = create_database()
    generate(database, seed=seed, scale="small", now=NOW)
    for case, sql in _EVERY_WORKSPACE_HAS.items():
        params = {"now": NAIVE_NOW} if "$now" in sql else {}
        found = {row["workspace_id"] for row in fetch(database, sql, **params)}
        assert set(BULK) <= found, case
    database.close()
