"""Refresh path: what each collector costs the warehouse, at two table sizes.

The simulated workspace runs in a child over a cached, generated database (a private copy),
with its clock frozen at `NOW`. Each collector's statement goes through the real warehouse
client; `/admin/stats` before and after gives the statements received and the DuckDB engine
seconds for that collector's tag. The exporter's own side (rows to families to rendered
bytes) is timed in this process. Statements per hour come from the default intervals and
from a sped-up run of the whole exporter against the same workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.cache import CachedDatabase, cached_database
from bench.procs import child, http_get, python_module
from databricks_exporter.collectors import build_collectors
from databricks_exporter.collectors.base import Collector
from databricks_exporter.exposition import Part
from databricks_exporter.settings import Secret, Settings, Workspace

#: The frozen clock of the simulated workspace (and the anchor of the generated data).
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SEED = 1
STATEMENT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Sample:
    """One refresh of one collector."""

    statements: int
    failed: int
    engine_seconds: float
    wall_seconds: float
    rows: int
    build_seconds: float
    series: int


@dataclass(frozen=True)
class CollectorCost:
    """Repeated refreshes of one collector at one table size."""

    collector: str
    factor: float
    table_rows: int
    samples: tuple[Sample, ...]

    def median(self, field: str) -> float:
        """The median of one Sample field over the repetitions."""
        return statistics.median(float(getattr(s, field)) for s in self.samples)


@dataclass(frozen=True)
class Size:
    """Every collector at one size factor."""

    factor: float
    database: CachedDatabase
    costs: dict[str, CollectorCost]


@dataclass(frozen=True)
class Rate:
    """Statements per hour of one collector: from its interval, and measured sped up."""

    collector: str
    interval: float
    derived: float
    measured: float | None


@dataclass(frozen=True)
class RefreshReport:
    """Everything the refresh part measured."""

    scale: str
    sizes: tuple[Size, ...]
    rates: tuple[Rate, ...]
    speedup: float
    window: float


def default_collectors() -> list[Collector]:
    """The collectors as configured by default."""
    return build_collectors(Settings(workspace=None))


def growth_bound(rows_small: int, rows_large: int) -> float:
    """How much an n log n cost may grow from `rows_small` to `rows_large` rows."""
    small, large = max(rows_small, 2), max(rows_large, 2)
    return (large * math.log(large)) / (small * math.log(small))


def _stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = json.loads(http_get(url + "/admin/stats"))
    return stats


def _tagged(stats: dict[str, Any], collector: str, key: str) -> float:
    return float(stats.get("by_tag", {}).get("collector", {}).get(collector, {}).get(key, 0.0))


def _workspace(info: dict[str, Any]) -> Workspace:
    return Workspace(
        info["url"], info["warehouse_id"], info["client_id"], Secret(info["client_secret"])
    )


def _refresh_once(client: Any, url: str, collector: Collector) -> Sample:
    before = _stats(url)
    started = time.perf_counter()
    result = client.execute(collector.statement(), tags={"collector": collector.name})
    wall = time.perf_counter() - started
    after = _stats(url)
    started = time.perf_counter()
    data = collector.build(result)
    Part.render(data.families)
    built = time.perf_counter() - started
    return Sample(
        statements=after["statements"]["received"] - before["statements"]["received"],
        failed=after["statements"]["failed"] - before["statements"]["failed"],
        engine_seconds=_tagged(after, collector.name, "engine_seconds")
        - _tagged(before, collector.name, "engine_seconds"),
        wall_seconds=wall,
        rows=len(result.rows),
        build_seconds=built,
        series=data.series,
    )


def _sim_args(path: Path, scale: str) -> list[str]:
    return python_module(
        "bench.serve", "sim", "--database", str(path), "--scale", scale, "--seed", str(SEED),
        "--now", NOW.isoformat(),
    )  # fmt: skip


def measure_sizes(
    databases: Sequence[tuple[float, CachedDatabase]], scale: str, repeats: int, workdir: Path
) -> list[dict[str, CollectorCost]]:
    """Every collector `repeats` times (after one warm-up) at every size, sizes alternating.

    One simulated workspace per size runs at the same time, and each repetition visits the
    sizes in turn, so the machine's noise falls on every size alike.
    """
    from databricks_exporter.warehouse.client import WarehouseClient  # noqa: PLC0415  (SDK)

    with contextlib.ExitStack() as stack:
        sims = []
        for _, database in databases:
            copy = database.copy_to(workdir)
            stack.callback(copy.unlink, missing_ok=True)
            sim = stack.enter_context(child(_sim_args(copy, scale)))
            client = WarehouseClient(_workspace(sim.info), statement_timeout=STATEMENT_TIMEOUT)
            stack.callback(client.close)
            sims.append((sim.info["url"], client))
        costs: list[dict[str, CollectorCost]] = [{} for _ in databases]
        for collector in default_collectors():
            samples: list[list[Sample]] = [[] for _ in databases]
            for url, client in sims:
                _refresh_once(client, url, collector)  # warm-up: caches, first token
            for _ in range(repeats):
                for index, (url, client) in enumerate(sims):
                    samples[index].append(_refresh_once(client, url, collector))
            for index, (factor, database) in enumerate(databases):
                rows = sum(database.rows.get(table, 0) for table in collector.tables)
                costs[index][collector.name] = CollectorCost(
                    collector.name, factor, rows, tuple(samples[index])
                )
        return costs


async def _sped_up(info: dict[str, Any], speedup: float, window: float) -> dict[str, int]:
    from databricks_exporter.app import Exporter  # noqa: PLC0415

    base = Settings(workspace=_workspace(info), listen_addresses=("127.0.0.1:0",), idle_pause=0)
    collectors = tuple(replace(c, interval=c.interval / speedup) for c in base.collectors)
    exporter = Exporter(replace(base, collectors=collectors, log_level="warn"))
    await exporter.start()
    try:
        async with asyncio.timeout(STATEMENT_TIMEOUT):
            while not exporter.scheduler.ready():  # noqa: ASYNC110  (no event to wait on)
                await asyncio.sleep(0.05)
        before = await asyncio.to_thread(_stats, info["url"])
        await asyncio.sleep(window)  # the measurement window itself
        after = await asyncio.to_thread(_stats, info["url"])
    finally:
        await exporter.stop()
    names = [c.name for c in base.collectors if c.enabled]
    return {n: int(_tagged(after, n, "received") - _tagged(before, n, "received")) for n in names}


def statement_rates(
    database: CachedDatabase, scale: str, speedup: float, window: float, workdir: Path
) -> tuple[Rate, ...]:
    """Statements per hour per collector: 3600/interval, and counted over a sped-up run."""
    copy = database.copy_to(workdir)
    try:
        with child(_sim_args(copy, scale)) as sim:
            counted = asyncio.run(_sped_up(sim.info, speedup, window))
    finally:
        copy.unlink(missing_ok=True)
    settings = Settings(workspace=None)
    return tuple(
        Rate(
            collector=c.name,
            interval=c.interval,
            derived=3600.0 / c.interval,
            measured=counted[c.name] * 3600.0 / (window * speedup) if c.name in counted else None,
        )
        for c in settings.collectors
        if c.enabled
    )


def run(
    *,
    scale: str,
    factors: Sequence[float],
    repeats: int,
    speedup: float,
    window: float,
    cache_dir: Path,
    say: Any = print,
) -> RefreshReport:
    """The whole refresh part."""
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        workdir = Path(tmp)
        databases = []
        for factor in factors:
            say(f"refresh: {scale} preset x{factor:g}: preparing the database (cached)")
            database = cached_database(cache_dir, seed=SEED, scale=scale, factor=factor, now=NOW)
            if database.fresh:
                say(f"refresh: generated in {database.generated_seconds:.0f} s, now cached")
            databases.append((factor, database))
        costs = measure_sizes(databases, scale, repeats, workdir)
        sizes = tuple(
            Size(factor, database, cost)
            for (factor, database), cost in zip(databases, costs, strict=True)
        )
        for size in sizes:
            for cost in size.costs.values():
                say(
                    f"refresh: x{size.factor:g} {cost.collector}: "
                    f"{cost.median('engine_seconds') * 1000:.1f} ms engine, "
                    f"{cost.median('rows'):.0f} rows"
                )
        say(f"refresh: sped-up run ({speedup:g}x faster intervals, {window:g} s)")
        rates = statement_rates(sizes[0].database, scale, speedup, window, workdir)
    return RefreshReport(scale, sizes, rates, speedup, window)
