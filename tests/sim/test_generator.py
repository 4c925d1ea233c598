"""The data generator: API, determinism, and the bulk data's semantics on the small preset.

Every property is checked on the generated tables with plain SQL or Python over fetched rows.
The named scenarios are in test_generator_scenarios.py.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from databricks_exporter.sim import generator
from databricks_exporter.sim.generator import (
    BULK_WORKSPACES,
    TABLES,
    GenerationStats,
    create_database,
    generate,
)

NOW = dt.datetime(2026, 11, 25, 18, 37, 12, 345678, tzinfo=dt.UTC)
NAIVE_NOW = NOW.replace(tzinfo=None)
SEED = 11
BULK = BULK_WORKSPACES[:3]
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

Row = dict[str, Any]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    database = create_database()
    generate(database, seed=SEED, scale="small", now=NOW)
    yield database
    database.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, **params: object) -> list[Row]:
    """Rows of `sql` (tables named `system.x.y` are read from the generator's catalog)."""
    cursor = con.execute(sql.replace("system.", "databricks_system."), params or None)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, **params: object) -> Any:
    """The single value of `sql`."""
    return next(iter(fetch(con, sql, **params)[0].values()))


def bulk_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[Row]:
    """Every row of `table` in the bulk workspaces."""
    return fetch(con, f"SELECT * FROM {table} WHERE workspace_id IN $bulk", bulk=list(BULK))


def grouped(rows: list[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    """Rows grouped by `keys`, each group sorted by period_start_time."""
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[key] for key in keys)].append(row)
    for members in groups.values():
        members.sort(key=lambda row: (row["period_start_time"], row["period_end_time"]))
    return groups


# -- API --------------------------------------------------------------------------------------


def test_every_table_is_filled_and_counted(con: duckdb.DuckDBPyConnection) -> None:
    stats = generate(create_database(), seed=SEED, scale="small", now=NOW)
    assert set(stats.rows) == set(TABLES)
    for table in TABLES:
        assert stats.rows[table] == scalar(con, f"SELECT count(*) FROM {table}") > 0, table
    assert stats.seconds > 0


def test_small_preset_volumes(con: duckdb.DuckDBPyConnection) -> None:
    runs = scalar(
        con, "SELECT count(DISTINCT (workspace_id, run_id)) FROM system.lakeflow.job_run_timeline"
    )
    jobs = scalar(
        con, "SELECT count(DISTINCT (workspace_id, job_id)) FROM system.lakeflow.job_run_timeline"
    )
    pipelines = scalar(
        con, "SELECT count(DISTINCT pipeline_id) FROM system.lakeflow.pipeline_update_timeline"
    )
    assert 2000 < runs < 10000
    assert 30 < jobs < 100
    assert 10 < pipelines < 50
    assert 10000 < scalar(con, "SELECT count(*) FROM system.query.history") < 50000
    first_usage = scalar(con, "SELECT min(usage_date) FROM system.billing.usage")
    assert NAIVE_NOW.date() - first_usage >= dt.timedelta(days=35)
    first_price = scalar(con, "SELECT min(price_start_time) FROM system.billing.list_prices")
    assert NAIVE_NOW - first_price >= dt.timedelta(days=100)


def test_workspaces_and_catalog() -> None:
    assert (
        *BULK,
        generator.SCENARIO_WORKSPACE,
        generator.OVERLAP_WORKSPACE,
    ) == generator.WORKSPACES
    assert len(generator.workspaces("large")) == 10
    assert all(w.isdigit() and len(w) == 16 for w in generator.workspaces("large"))
    assert BULK[0] == generator.DEFAULT_WORKSPACE_ID
    assert generator.CATALOG == "databricks_system"


def test_bad_arguments_are_refused() -> None:
    database = create_database()
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(database, seed=1, scale="small", now=NAIVE_NOW)
    with pytest.raises(ValueError, match="scale"):
        generate(database, seed=1, scale="huge", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size_factor"):
        generate(database, seed=1, scale="small", now=NOW, size_factor=0)


def test_a_cursor_in_another_thread_reads_the_tables_in_utc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    found: list[Any] = []

    def read() -> None:
        cursor = con.cursor()
        found.append(cursor.execute("SELECT current_setting('TimeZone')").fetchone())
        found.append(
            cursor.execute("SELECT count(*) FROM databricks_system.query.history").fetchone()
        )

    worker = threading.Thread(target=read)
    worker.start()
    worker.join(timeout=30)
    assert found[0] == ("UTC",)
    assert found[1] == (scalar(con, "SELECT count(*) FROM system.query.history"),)


def test_a_file_database_reopens_with_the_same_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "sim's.duckdb")
    database = create_database(path)
    stats = generate(database, seed=SEED, scale="small", now=NOW)
    database.close()
    reopened = create_database(path)
    for table in TABLES:
        assert scalar(reopened, f"SELECT count(*) FROM {table}") == stats.rows[table]
    reopened.close()


# -- determinism ------------------------------------------------------------------------------


def digests(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """An order-independent digest of every table's rows: row count and sum of row hashes."""
    sql = "SELECT count(*)::VARCHAR || '/' || sum(hash(t))::VARCHAR FROM {} t"
    return {table: scalar(con, sql.format(table)) for table in TABLES}


def test_same_seed_same_tables_other_seed_other_tables(con: duckdb.DuckDBPyConnection) -> None:
    again = create_database()
    generate(again, seed=SEED + 1, scale="small", now=NOW)
    different = digests(again)
    # Generating again replaces every row, so this also shows nothing is left over.
    generate(again, seed=SEED, scale="small", now=NOW)
    first = digests(con)
    assert digests(again) == first
    changed = {table for table in TABLES if different[table] != first[table]}
    assert changed == set(TABLES) - {"system.billing.list_prices"}, "the price list is fixed"


def test_size_factor_multiplies_runs_statements_and_usage(con: duckdb.DuckDBPyConnection) -> None:
    bigger = create_database()
    generate(bigger, seed=SEED, scale="small", now=NOW, size_factor=2.0)
    for sql in (
        "SELECT count(DISTINCT run_id) FROM system.lakeflow.job_run_timeline",
        "SELECT count(*) FROM system.query.history",
        "SELECT count(*) FROM system.billing.usage",
    ):
        ratio = scalar(bigger, sql) / scalar(con, sql)
        assert 1.6 < ratio < 2.4, sql
    same_shape = (
        "SELECT count(DISTINCT (workspace_id, job_id)) FROM system.lakeflow.job_run_timeline"
    )
    assert scalar(bigger, same_shape) == scalar(con, same_shape)


def report(preset: str, stats: GenerationStats) -> None:
    """Print the generation time and row counts (shown with `pytest -rP`)."""
    print(f"{preset} preset generated in {stats.seconds:.3f} s")
    for table, count in stats.rows.items():
        print(f"  {table}: {count}")


def test_small_preset_generation_time_is_reported() -> None:
    # Reported, not asserted: wall-clock time depends on the machine and its load.
    stats = generate(create_database(), seed=SEED, scale="small", now=NOW)
    report("small", stats)
    assert stats.seconds > 0


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RUN_SLOW") != "1", reason="set RUN_SLOW=1")
def test_large_preset() -> None:
    database = create_database()
    stats = generate(database, seed=SEED, scale="large", now=NOW)
    report("large", stats)
    assert stats.rows["system.query.history"] > 1_000_000
    runs = "SELECT count(DISTINCT (workspace_id, run_id)) FROM system.lakeflow.job_run_timeline"
    assert scalar(database, runs) > 200_000
