"""Issue 5, item 11: a bounded soak run.

The exporter (in this process, real clock, intervals of 1-2 s) runs against a `databricks-sim`
process whose faults a seeded schedule switches every couple of seconds, while four clients
scrape `/metrics` back to back and a fifth probes the health endpoints; now and then nobody
scrapes for a while, so the idle pause comes and goes too. Afterwards, with the faults cleared,
every collector must recover, and:

* no scrape failed;
* RSS, open descriptors and asyncio tasks grew by no more than a small bound from the steady
  state after warm-up to the end, and threads never outnumbered what the pools allow;
* the statements the workspace received stay within what the schedule allows: per collector at
  most one per 0.8 interval (the shortest jittered retry), never two at once, never more than
  the exporter counted sending.

CI runs the short form (about 30 s); `SOAK_SECONDS=300` gives a long one. `SOAK_REPORT=path`
writes the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from databricks_exporter.app import Exporter
from databricks_exporter.selfmetrics import OUTCOMES
from databricks_exporter.settings import CollectorSettings, Secret, Settings, Workspace
from databricks_exporter.sim.workspace import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WAREHOUSE_ID,
)

from .harness import COLLECTORS, PIPELINES_TABLE, Metrics
from .soak import Sample, Scrapers, SimProcess, sample, sim_process, steady

SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
SEED = int(os.environ.get("SOAK_SEED", "20261125"))
INTERVALS = {"billing": 2.0, "jobs": 1.0, "pipelines": 1.0, "queries": 1.5}
IDLE_PAUSE = 3.0
SHORTEST_RETRY = 0.8  # of an interval: the backoff's jitter (TRANSIENT kinds, interval < 15 s)
#: Growth allowed between the steady state after warm-up and the end of the run.
BOUNDS = {"rss_kib": 40 * 1024, "fds": 16, "tasks": 16}
#: Threads the run may add by design: scrapers, the warehouse pool (collectors + 2), asyncio's
#: default pool (which starts its threads lazily, so they may appear late), one spare.
THREAD_CEILING = 1 + (len(COLLECTORS) + 2) + min(32, (os.cpu_count() or 1) + 4) + 1
CORRUPT_MODES = ("drop_column", "empty", "nan", "null", "non_numeric", "wrong_type")


def fault_menu(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Every fault the schedule picks from, with its parameters drawn from `rng`."""
    collector = rng.choice(COLLECTORS)
    return [
        ("auth", {"token": {"status": 401}}),
        ("token-500", {"token": {"status": 500, "count": 3}}),
        ("token-slow", {"token": {"delay": 0.5, "count": 2}}),
        ("api-401", {"api": {"status": 401, "count": 3}}),
        ("api-403", {"api": {"status": 403, "count": 2}}),
        ("api-429", {"api": {"status": 429, "retry_after": 1}}),
        ("api-503", {"api": {"status": 503, "retry_after": 1, "count": 4}}),
        ("hidden", {"hidden_tables": [PIPELINES_TABLE]}),
        ("denied", {"denied_tables": ["system.query.history"]}),
        ("stopped", {"warehouse_stopped": {"seconds": rng.choice((0.5, 1.5, 3.0))}}),
        ("slow", {"slow_statements": {"seconds": 2.5, "tags": {"collector": collector}}}),
        ("reset", {"reset_connections": {"count": rng.randint(1, 6), "scope": "all"}}),
        (
            "corrupt",
            {"corrupt": {"mode": rng.choice(CORRUPT_MODES), "tags": {"collector": collector}}},
        ),
    ]


def settings_for(url: str) -> Settings:
    workspace = Workspace(
        url, DEFAULT_WAREHOUSE_ID, DEFAULT_CLIENT_ID, Secret(DEFAULT_CLIENT_SECRET)
    )
    collectors = tuple(
        CollectorSettings(name, True, INTERVALS[name], 4 * INTERVALS[name]) for name in COLLECTORS
    )
    return replace(
        Settings(workspace=workspace),
        listen_addresses=("127.0.0.1:0",),
        collectors=collectors,
        statement_timeout=2.0,
        table_probe_every=2,
        idle_pause=IDLE_PAUSE,
    )


class Chaos:
    """Switches the workspace's faults on a seeded schedule; records what it did."""

    def __init__(self, sim: SimProcess, session: aiohttp.ClientSession, scrapers: Scrapers):
        self.sim, self.session, self.scrapers = sim, session, scrapers
        self.rng = random.Random(SEED)
        self.switches: list[str] = []

    async def set(self, faults: dict[str, Any]) -> None:
        async with self.session.post(self.sim.url + "/admin/faults", json=faults) as response:
            assert response.status == 200, await response.text()

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            picks = self.rng.sample(fault_menu(self.rng), k=self.rng.choice((0, 1, 1, 2)))
            faults: dict[str, Any] = {}
            for _, fault in picks:
                faults.update(fault)
            quiet = self.rng.random() < 0.08
            self.switches.append("+".join(name for name, _ in picks) + ("+quiet" if quiet else ""))
            await self.set(faults)
            if quiet:  # long enough for the idle pause to begin
                self.scrapers.quiet.set()
            hold = self.rng.uniform(1.5, 3.0) + (IDLE_PAUSE + 2 if quiet else 0)
            await asyncio.sleep(max(0.0, min(hold, until - time.monotonic())))
            self.scrapers.quiet.clear()


async def sample_every(samples: list[Sample], started: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(sample(started))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            continue


async def recovered(exporter: Exporter, since: float, within: float = 30.0) -> None:
    """Wait until every collector succeeded after `since` (wall clock)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        statuses = exporter.scheduler.collectors()
        if all(s.last_success is not None and s.last_success > since for s in statuses):
            return
        await asyncio.sleep(0.1)
    late = [s.name for s in exporter.scheduler.collectors() if (s.last_success or 0) <= since]
    raise AssertionError(f"collectors not recovered: {late}")


async def sim_stats(sim: SimProcess, session: aiohttp.ClientSession) -> dict[str, Any]:
    async with session.get(sim.url + "/admin/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


@pytest.mark.soak
def test_soak(tmp_path: Path) -> None:
    with sim_process(tmp_path / "sim.log", "--token-ttl=5", "--log-level=warn") as sim:
        figures = asyncio.run(soak(sim))
    report = os.environ.get("SOAK_REPORT")
    if report:
        Path(report).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in figures.items() if k not in ("samples", "schedule")}))
    check(figures)


async def soak(sim: SimProcess) -> dict[str, Any]:
    threads_before = sample(time.monotonic()).threads  # other tests may have left some
    exporter = Exporter(settings_for(sim.url))
    samples: list[Sample] = []
    stop_sampling = asyncio.Event()
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await exporter.start()
        host, port = exporter.web.addresses[0]
        sampler = asyncio.create_task(sample_every(samples, started, stop_sampling))
        try:
            async with Scrapers(f"http://{host}:{port}") as scrapers:
                chaos = Chaos(sim, session, scrapers)
                await chaos.run(until=started + SECONDS)
                await chaos.set({})
                cleared = time.time()
                await recovered(exporter, cleared)
                ran = time.monotonic() - started
            stop_sampling.set()
            await sampler
        finally:
            await exporter.stop()
        final = Metrics(exporter.scheduler.rendered().text.decode())
        after_stop = await sim_stats(sim, session)
    return {
        "threads_before": threads_before,
        **figures(
            ran=ran, samples=samples, scrapers=scrapers, chaos=chaos, final=final, stats=after_stop
        ),
    }


def figures(
    *,
    ran: float,
    samples: list[Sample],
    scrapers: Scrapers,
    chaos: Chaos,
    final: Metrics,
    stats: dict[str, Any],
) -> dict[str, Any]:
    warm = [s for s in samples if s.at <= max(10.0, ran / 3)][-5:]
    end = samples[-5:]
    sent = {name: int(sum(final.statements(name, o) for o in OUTCOMES)) for name in COLLECTORS}
    tags = stats["by_tag"]["collector"]
    return {
        "seconds": round(ran, 1),
        "seed": SEED,
        "scrapes": scrapers.counts.scrapes,
        "scrapes_per_second": round(scrapers.counts.scrapes / ran, 1),
        "scraped_mib": round(scrapers.counts.bytes / 2**20, 1),
        "scrape_latency_seconds": {
            "p50_at_most": scrapers.counts.quantile(0.5),
            "p99_at_most": scrapers.counts.quantile(0.99),
            "max": round(scrapers.counts.slowest, 3),
        },
        "health_probes": scrapers.counts.probes,
        "failed_scrapes": len(scrapers.counts.failures),
        "failures": scrapers.counts.failures[:10],
        "fault_switches": len(chaos.switches),
        "schedule": chaos.switches,
        "resources": {
            name: {
                "warm": steady(warm, name),
                "end": steady(end, name),
                "max": max(getattr(s, name) for s in samples),
            }
            for name in ("rss_kib", "threads", "fds", "tasks")
        },
        "statements": {
            name: {
                "received": tags.get(name, {}).get("received", 0),
                "succeeded": tags.get(name, {}).get("succeeded", 0),
                "canceled": tags.get(name, {}).get("canceled", 0),
                "peak_in_flight": tags.get(name, {}).get("peak_in_flight", 0),
                "counted_by_exporter": sent[name],
                "bound": int(ran / (SHORTEST_RETRY * INTERVALS[name])) + 1,
            }
            for name in COLLECTORS
        },
        "left_running": stats["in_flight"],
        "samples": [asdict(s) for s in samples],
    }


def check(figures: dict[str, Any]) -> None:
    assert figures["failed_scrapes"] == 0, figures["failures"]
    assert figures["scrapes"] > 20 * figures["seconds"]
    for name, bound in BOUNDS.items():
        resource = figures["resources"][name]
        assert resource["end"] - resource["warm"] <= bound, (name, resource)
    threads = figures["resources"]["threads"]
    assert threads["max"] - figures["threads_before"] <= THREAD_CEILING, threads
    for name, counts in figures["statements"].items():
        assert counts["succeeded"] > 0, name
        # One statement may be in flight at the stop: cancelled there, never counted.
        assert counts["received"] <= counts["counted_by_exporter"] + 1, name
        assert counts["counted_by_exporter"] <= counts["bound"], name
        assert counts["peak_in_flight"] == 1, (name, "two statements of one collector at once")
    assert figures["left_running"] == 0
