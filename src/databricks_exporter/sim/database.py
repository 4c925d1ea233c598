"""The simulated workspace's DuckDB database: the system tables, filled by the generator."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from importlib import resources
from typing import Any

import duckdb

from databricks_exporter.logs import get_logger

log = get_logger("sim.database")


def _empty_database(path: str | None) -> duckdb.DuckDBPyConnection:
    """The schema alone, for when no generator is available."""
    con = duckdb.connect(path or ":memory:")
    con.execute("ATTACH ':memory:' AS databricks_system")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(resources.files(__package__).joinpath("schema.sql").read_text())
    return con


def open_database(
    path: str | None, *, seed: int, scale: str, now: dt.datetime, size_factor: float
) -> tuple[duckdb.DuckDBPyConnection, Any]:
    """Create the database and generate its rows; returns the connection and generation stats."""
    started = time.perf_counter()
    try:
        generator = importlib.import_module("databricks_exporter.sim.generator")
    except ModuleNotFoundError:
        log.warning("no data generator; the system tables are empty")
        return _empty_database(path), None
    con = generator.create_database(path)
    stats = generator.generate(con, seed=seed, scale=scale, now=now, size_factor=size_factor)
    log.info(
        "data generated",
        seconds=round(time.perf_counter() - started, 3),
        seed=seed,
        scale=scale,
        rows=getattr(stats, "rows", None),
    )
    return con, stats
