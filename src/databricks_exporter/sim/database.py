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


def empty_database(path: str | None = None) -> duckdb.DuckDBPyConnection:
    """The system tables with no rows (tests that bring their own, or no generator yet)."""
    con = duckdb.connect(":memory:")
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("ATTACH ? AS databricks_system", [path or ":memory:"])
    con.execute(resources.files(__package__).joinpath("schema.sql").read_text())
    return con


def open_database(
    path: str | None,
    *,
    seed: int,
    scale: str,
    now: dt.datetime,
    size_factor: float,
    generate: bool = True,
) -> tuple[duckdb.DuckDBPyConnection, Any]:
    """Create the database and generate its rows; returns the connection and generation stats."""
    if not generate:
        return empty_database(path), None
    started = time.perf_counter()
    try:
        generator = importlib.import_module("databricks_exporter.sim.generator")
    except ModuleNotFoundError:
        log.warning("no data generator; the system tables are empty")
        return empty_database(path), None
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
