"""Names for the drill-downs: the names statements on hand-built SCD2 rows, the directory, and
the rows -> families plumbing the drill-downs add (label sources, folded rows, self-metric)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import duckdb
import pytest

from collectors.fixtures import NOW, at, collect, insert
from collectors.sqlrun import create_database
from databricks_exporter.collectors.base import (
    Folded,
    LabelSources,
    MetricSpec,
    build_families,
)
from databricks_exporter.collectors.names import NameDirectory, NamesCollector, deleted_horizon
from databricks_exporter.selfmetrics import CollectorView, exporter_families
from databricks_exporter.settings import Windows
from databricks_exporter.warehouse.errors import ResultError
from databricks_exporter.warehouse.result import Column, StatementResult, Value
from reference import JOB_NAMES, PIPELINE_NAMES, WAREHOUSES, fetch_tables, latest_names


def job(ident: str, name: str | None, changed: str, **extra: object) -> dict[str, object]:
    return {
        "workspace_id": "ws1",
        "job_id": ident,
        "name": name,
        "change_time": at(changed),
    } | extra


JOBS: list[dict[str, object]] = [
    # Renamed: the latest name.
    job("1", "old", "11-01 00:00"),
    job("1", "new", "11-20 00:00"),
    # Deleted: keeps its last name, whether the deletion row carries it or not.
    job("2", "kept", "11-01 00:00"),
    job("2", "kept", "11-24 00:00", delete_time=at("11-24 00:00")),
    job("3", "before", "11-01 00:00"),
    job("3", None, "11-24 00:00", delete_time=at("11-24 00:00")),
    # Deleted long before any window (60 days): not read.
    job("4", "ancient", "09-01 00:00"),
    job("4", "ancient", "09-26 00:00", delete_time=at("09-26 00:00")),
    # Only an empty name: none.
    job("5", "", "11-01 00:00"),
    # Two rows at the same time: the greater name.
    job("6", "aaa", "11-01 00:00"),
    job("6", "bbb", "11-01 00:00"),
    # A row without a change time loses against a dated one.
    job("7", "dated", "11-01 00:00"),
    {"workspace_id": "ws1", "job_id": "7", "name": "undated", "change_time": None},
    # The same id in another workspace is another job.
    {"workspace_id": "ws2", "job_id": "1", "name": "ws2's", "change_time": at("11-01 00:00")},
    # No workspace id.
    {"workspace_id": None, "job_id": "8", "name": "nowhere", "change_time": at("11-01 00:00")},
    # No job id: never a name.
    {"workspace_id": "ws1", "job_id": None, "name": "nobody", "change_time": at("11-01 00:00")},
]
ODD = 'nightly "etl" \\ ü\nline 2'


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, JOB_NAMES, JOBS)
    insert(
        con,
        PIPELINE_NAMES,
        [
            {
                "workspace_id": "ws1",
                "pipeline_id": "p1",
                "name": ODD,
                "change_time": at("11-01 00:00"),
            }
        ],
    )
    warehouse = {"workspace_id": "ws1", "warehouse_id": "w1"}
    insert(
        con,
        WAREHOUSES,
        [
            warehouse | {"warehouse_name": "bi", "change_time": at("11-01 00:00")},
            warehouse | {"warehouse_name": "bi 2", "change_time": at("11-02 00:00")},
        ],
    )
    yield con
    con.close()


def loaded(con: duckdb.DuckDBPyConnection, kind: str) -> NameDirectory:
    directory = NameDirectory(first_load_wait=0)
    data = collect(con, NamesCollector(kind, Windows(), directory))
    assert (data.families, data.series, data.as_of) == ((), 0, NOW.timestamp())
    return directory


def test_job_names(con: duckdb.DuckDBPyConnection) -> None:
    names = loaded(con, "jobs").names("jobs")
    resolved = {ident: names.resolve("ws1", ident) for ident in "1234567"}
    assert resolved == {
        "1": "new",
        "2": "kept",
        "3": "before",
        "4": "job-4",
        "5": "job-5",
        "6": "bbb",
        "7": "dated",
    }
    assert names.resolve("ws2", "1") == "ws2's"
    assert names.resolve("unknown", "8") == "nowhere"
    assert names.resolve("ws1", "other") == "other"
    assert names.resolve("ws1", "unknown") == "unknown"
    assert dict(names.by_id) == latest_names(fetch_tables(con)[JOB_NAMES], "job_id", NOW, Windows())


def test_pipeline_and_warehouse_names(con: duckdb.DuckDBPyConnection) -> None:
    assert loaded(con, "pipelines").names("pipelines").resolve("ws1", "p1") == ODD
    assert loaded(con, "pipelines").names("pipelines").resolve("ws1", "p2") == "pipeline-p2"
    warehouses = loaded(con, "warehouses").names("warehouses")
    assert (warehouses.resolve("ws1", "w1"), warehouses.resolve("ws1", "w9")) == (
        "bi 2",
        "warehouse-w9",
    )


def test_the_deleted_horizon_follows_the_longest_window() -> None:
    assert deleted_horizon(Windows()) == (30 + 2) * 86400
    assert (
        deleted_horizon(Windows(billing_lookback=86400, run_history=10 * 86400)) == (11 + 2) * 86400
    )


def test_before_the_first_load_names_are_unknown_and_waited_for_once() -> None:
    directory = NameDirectory(first_load_wait=0.05)
    started = time.monotonic()
    assert directory.names("jobs").resolve("ws1", "1") == "unknown"
    assert directory.names("jobs").resolve("ws1", "1") == "unknown"
    assert time.monotonic() - started < 1, "only the first call waits"
    other_reader = time.monotonic()
    assert directory.names("jobs", "billing").resolve("ws1", "1") == "unknown"
    assert time.monotonic() - other_reader >= 0.05, "each reader waits on its first call"
    directory.replace("jobs", {("ws1", "1"): "etl"})
    assert directory.names("jobs").resolve("ws1", "1") == "etl"
    assert directory.names("jobs").resolve("ws1", "2") == "job-2"


def test_the_first_build_waits_for_names_read_meanwhile() -> None:
    directory = NameDirectory(first_load_wait=30)
    timer = threading.Timer(0.05, directory.replace, ("pipelines", {("ws1", "p"): "orders"}))
    timer.start()
    try:
        assert directory.names("pipelines").resolve("ws1", "p") == "orders"
    finally:
        timer.cancel()


def test_a_names_result_without_now_row_is_refused() -> None:
    columns = tuple(Column(n, "STRING") for n in ("metric", "workspace_id", "entity_id", "name"))
    result = StatementResult("s1", (*columns, Column("value", "DOUBLE")), ())
    with pytest.raises(ResultError, match="no __now__ row"):
        NamesCollector("jobs", Windows(), NameDirectory(0)).build(result)
    with pytest.raises(ResultError, match="lacks column"):
        NamesCollector("jobs", Windows(), NameDirectory(0)).build(
            StatementResult("s2", columns, ())
        )


# ----- label sources, folded rows, self-metric ----------------------------------------------

SPEC = MetricSpec("m_total", "counter", "help", ("workspace_id", "team", "job_id", "job_name"))


NOW_ROW: tuple[Value, ...] = ("__now__", None, None, None, None, 1.0)


def _result(*rows: tuple[Value, ...]) -> StatementResult:
    names = ("metric", "workspace_id", "tag_1", "job_id", "folded_label", "value")
    return StatementResult("s", tuple(Column(n, "STRING") for n in names), (NOW_ROW, *rows))


def test_labels_from_other_columns_and_derived_from_the_row() -> None:
    sources = LabelSources(
        columns={"team": "tag_1"},
        derived={"job_name": lambda labels: f"{labels['workspace_id']}/{labels['job_id']}"},
    )
    result = _result(
        ("m_total", "ws1", "a", "j1", None, 2.0),
        ("m_total", "ws1", None, None, None, 3.0),
        ("__folded__", "ws1", None, None, "job_id", 4.0),
    )
    data = build_families("c", (SPEC,), result, sources, drilldown=True)
    samples = {tuple(s.labels.values()): s.value for s in data.families[0].samples}
    assert samples == {
        ("ws1", "a", "j1", "ws1/j1"): 2.0,
        ("ws1", "unknown", "unknown", "ws1/unknown"): 3.0,
    }
    assert data.folded == (Folded("ws1", "job_id", 4),)
    plain = build_families("c", (), _result(), drilldown=False)
    assert plain.folded is None


def test_a_missing_source_column_fails_the_refresh() -> None:
    sources = LabelSources(columns={"team": "tag_9"}, derived={"job_name": lambda _: "x"})
    with pytest.raises(ResultError, match="tag_9"):
        build_families("c", (SPEC,), _result(), sources)


def _view(name: str, folded: tuple[Folded, ...] | None) -> CollectorView:
    return CollectorView(name, True, 1.0, 1.0, 0.1, 1.0, False, 0, "idle", 0, {}, folded)


def test_folded_self_metric_only_while_a_drilldown_is_on() -> None:
    def family(views: list[CollectorView]) -> dict[tuple[str, ...], float] | None:
        for metric in exporter_families(views, {}, idle_paused=False):
            if metric.name == "databricks_exporter_drilldown_folded_entities":
                return {tuple(s.labels.values()): s.value for s in metric.samples}
        return None

    assert family([_view("jobs", None), _view("billing", None)]) is None
    folded = (Folded("ws2", "job_id", 0), Folded("ws1", "job_id", 7))
    assert family([_view("jobs", folded), _view("billing", None)]) == {
        ("jobs", "ws1", "job_id"): 7.0,
        ("jobs", "ws2", "job_id"): 0.0,
    }
    assert dt.timedelta(seconds=deleted_horizon(Windows())).days == 32
