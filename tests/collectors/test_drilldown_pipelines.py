"""Pipelines by pipeline on hand-built updates and name rows: literal expectations."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, hours_before, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.names import NameDirectory, NamesCollector
from databricks_exporter.collectors.pipelines import PipelinesCollector
from databricks_exporter.settings import Drilldown, Windows
from reference import (
    PIPELINE_NAMES,
    PIPELINE_UPDATES,
    Expected,
    fetch_tables,
    pipelines_by_pipeline,
)

LABELS = ("workspace_id", "pipeline_id", "pipeline_name")
ODD_NAME = 'orders "dlt" \\ ü\nline 2'


def update(
    pipeline: str,
    update_id: str,
    ended_hours_ago: float,
    seconds: int,
    state: str,
    *,
    request: str | None = None,
) -> dict[str, object]:
    """A one-slice REFRESH update of ws1."""
    return {
        "workspace_id": "ws1",
        "pipeline_id": pipeline,
        "update_id": update_id,
        "update_type": "REFRESH",
        "request_id": request,
        "period_start_time": hours_before(ended_hours_ago + seconds / 3600),
        "period_end_time": hours_before(ended_hours_ago),
        "result_state": state,
    }


UPDATES = [
    # p1: a request failed, then restarted and completed, and another completed update.
    update("p1", "u1", 4, 1200, "FAILED", request="q1"),
    update("p1", "u2", 3, 300, "COMPLETED", request="q1"),
    update("p1", "u3", 2, 600, "COMPLETED"),
    # p2, p3: one update each; p4 completed 3 days ago only (freshness, no activity).
    update("p2", "u4", 5, 1800, "COMPLETED"),
    update("p3", "u5", 1, 60, "CANCELED"),
    update("p4", "u6", 72, 600, "COMPLETED"),
]
NAMES = [
    {
        "workspace_id": "ws1",
        "pipeline_id": "p1",
        "name": "orders",
        "change_time": at("11-01 00:00"),
    },
    {
        "workspace_id": "ws1",
        "pipeline_id": "p1",
        "name": ODD_NAME,
        "change_time": at("11-24 00:00"),
    },
    {"workspace_id": "ws1", "pipeline_id": "p2", "name": "gone", "change_time": at("11-01 00:00")},
    {
        "workspace_id": "ws1",
        "pipeline_id": "p2",
        "name": "gone",
        "change_time": at("11-25 09:00"),
        "delete_time": at("11-25 09:00"),
    },
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, PIPELINE_UPDATES, UPDATES)
    insert(con, PIPELINE_NAMES, NAMES)
    yield con
    con.close()


def drilled(con: duckdb.DuckDBPyConnection, top_k: int) -> Expected:
    names = NameDirectory(first_load_wait=0)
    collect(con, NamesCollector("pipelines", Windows(), names))
    drilldown = Drilldown(pipelines_by_pipeline=True, top_k=top_k)
    return series(collect(con, PipelinesCollector(Windows(), drilldown, names)))


def test_kept_pipeline_and_the_folded_rest(con: duckdb.DuckDBPyConnection) -> None:
    exported = drilled(con, top_k=1)
    assert by_key(exported["databricks_pipeline_runs_total"], *LABELS) == {
        ("ws1", "p1", ODD_NAME): 3.0,
        ("ws1", "other", "other"): 2.0,  # p2 and p3; p4 has no update in the window
    }
    assert by_key(exported["databricks_pipeline_retry_events_total"], *LABELS) == {
        ("ws1", "p1", ODD_NAME): 1.0,
        ("ws1", "other", "other"): 0.0,
    }
    assert by_key(exported["databricks_pipeline_run_status"], "pipeline_id", "status") == {
        ("p1", "FAILED"): 1.0,
        ("p1", "COMPLETED"): 2.0,
        ("other", "COMPLETED"): 1.0,
        ("other", "CANCELED"): 1.0,
    }
    quantiles = by_key(
        exported["databricks_pipeline_run_duration_seconds"], "pipeline_id", "quantile"
    )
    assert quantiles == {
        ("p1", "0.5"): 600.0,
        ("p1", "0.95"): 1200.0,
        ("p1", "0.99"): 1200.0,
        ("other", "0.5"): 60.0,  # over [60, 1800]
        ("other", "0.95"): 1800.0,
        ("other", "0.99"): 1800.0,
    }


def test_freshness_of_the_folded_group_averages_its_pipelines(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = drilled(con, top_k=1)
    lag = by_key(exported["databricks_pipeline_freshness_lag_seconds"], "pipeline_id", "stage")
    assert lag == {
        ("p1", "REFRESH"): 2 * 3600.0,  # its latest completion
        ("other", "REFRESH"): (5 + 72) / 2 * 3600.0,  # p2 and p4 (p3 never completed)
    }


def test_deleted_pipeline_keeps_its_name_and_nameless_shows_its_id(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = drilled(con, top_k=10)
    assert by_key(exported["databricks_pipeline_runs_total"], *LABELS) == {
        ("ws1", "p1", ODD_NAME): 3.0,
        ("ws1", "p2", "gone"): 1.0,
        ("ws1", "p3", "pipeline-p3"): 1.0,
    }
    lag = by_key(exported["databricks_pipeline_freshness_lag_seconds"], "pipeline_name")
    assert lag[("pipeline-p4",)] == 72 * 3600.0


def test_folded_counts_include_pipelines_seen_only_through_freshness(
    con: duckdb.DuckDBPyConnection,
) -> None:
    drilldown = Drilldown(pipelines_by_pipeline=True, top_k=1)
    data = collect(con, PipelinesCollector(Windows(), drilldown, NameDirectory(first_load_wait=0)))
    assert [(f.workspace_id, f.label, f.entities) for f in data.folded or ()] == [
        ("ws1", "pipeline_id", 3)
    ]


def test_reference_agrees(con: duckdb.DuckDBPyConnection) -> None:
    for top_k in (1, 2, 10):
        drilldown = Drilldown(pipelines_by_pipeline=True, top_k=top_k)
        expected = pipelines_by_pipeline(fetch_tables(con), NOW, Windows(), drilldown)
        assert expected == drilled(con, top_k)
