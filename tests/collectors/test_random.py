"""SQL against the Python reference on seeded random tables dense in edge cases."""

from __future__ import annotations

import functools
import math
from collections import Counter

import duckdb
import pytest

from collectors.fixtures import NOW, insert, series
from collectors.randomdata import random_rows
from collectors.sqlrun import create_database, run
from databricks_exporter.collectors import build_collectors
from databricks_exporter.collectors.base import NOW_ROW, Collector
from databricks_exporter.settings import Settings, Windows
from reference import Expected, Tables, expected_metrics, fetch_tables

#: Priced per usage hour and rounded to 18 decimals in SQL, per row in Python: equal up to that.
APPROXIMATE = {
    "databricks_billing_cost_estimate_usd",
    "databricks_billing_daily_cost_usd",
    "databricks_billing_job_cost_usd",
}

WINDOWS = [
    Windows(),
    Windows(jobs_lookback=6 * 3600, pipelines_lookback=3600, queries_lookback=600, run_history=0),
    Windows(billing_lookback=3 * 86400, price_change_lookback=400 * 86400, sla_threshold=60),
]


def assert_same(actual: Expected, expected: Expected) -> None:
    """Every series equal; the two float sums within rounding."""
    assert actual.keys() == expected.keys()
    for metric, values in expected.items():
        if metric not in APPROXIMATE:
            assert actual[metric] == values, metric
            continue
        assert actual[metric].keys() == values.keys(), metric
        for key, value in values.items():
            assert math.isclose(actual[metric][key], value, rel_tol=1e-12, abs_tol=1e-12), key


def one_row_per_series(collector: Collector, rows: tuple[tuple[object, ...], ...]) -> None:
    labels = {spec.name: spec.labels for spec in collector.metrics}
    keys = Counter(
        (row[0], *(row[1 + i] for i in range(len(row) - 2)))
        for row in rows
        if row[0] != NOW_ROW and labels.get(str(row[0])) is not None
    )
    assert [key for key, count in keys.items() if count > 1] == []


@functools.cache
def database(seed: int) -> tuple[duckdb.DuckDBPyConnection, Tables]:
    """The random tables of `seed`, loaded once per test session, and their raw rows."""
    con = create_database()
    for table, rows in random_rows(seed).items():
        insert(con, table, rows)
    return con, fetch_tables(con)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("windows", WINDOWS, ids=["defaults", "short", "billing"])
def test_sql_matches_reference(seed: int, windows: Windows) -> None:
    con, tables = database(seed)
    actual: Expected = {}
    for collector in build_collectors(Settings(workspace=None, windows=windows)):
        result = run(con, collector.statement(), NOW)
        one_row_per_series(collector, result.rows)
        actual |= series(collector.build(result))
    assert_same(actual, expected_metrics(tables, NOW, windows))
