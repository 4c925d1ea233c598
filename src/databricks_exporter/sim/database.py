"""The simulated workspace's DuckDB database: the system tables, filled by the generator."""

from __future__ import annotations

import datetime as dt
from typing import Literal, cast

import duckdb

from databricks_exporter.logs import get_logger
from databricks_exporter.sim import generator
from databricks_exporter.sim.generator import GenerationStats

log = get_logger("sim.database")

SCALES = ("small", "large")


def open_database(
    path: str | None,
    *,
    seed: int,
    scale: str,
    now: dt.datetime,
    size_factor: float,
    generate: bool = True,
) -> tuple[duckdb.DuckDBPyConnection, GenerationStats | None]:
    """The system tables (in memory or in `path`), generated unless `generate` is False."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    con = generator.create_database(path)
    if not generate:
        return con, None
    preset = cast(Literal["small", "large"], scale)
    stats = generator.generate(con, seed=seed, scale=preset, now=now, size_factor=size_factor)
    log.info(
        "data generated",
        seconds=round(stats.seconds, 3),
        seed=seed,
        scale=scale,
        rows=dict(stats.rows),
    )
    return con, stats
