"""An exporter running in-process against the simulated workspace, both over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from databricks_exporter.app import Exporter
from databricks_exporter.clock import ManualClock
from databricks_exporter.settings import Secret, Settings, Workspace
from databricks_exporter.sim import SimulatedWorkspace

NOW = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC)
SEED = 1


@dataclasses.dataclass
class Running:
    """The pieces a test talks to."""

    sim: SimulatedWorkspace
    exporter: Exporter
    base_url: str

    async def scrape(self, path: str = "/metrics", **headers: str) -> tuple[int, str]:
        """GET `path` from the exporter; returns status and body text."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base_url + path, headers=headers) as response,
        ):
            return response.status, await response.text()


def settings_for(sim: SimulatedWorkspace) -> Settings:
    """Defaults of the command line, pointed at `sim`, listening on a free loopback port."""
    workspace = Workspace(sim.url, sim.warehouse_id, sim.client_id, Secret(sim.client_secret))
    return Settings(workspace=workspace, listen_addresses=("127.0.0.1:0",), idle_pause=0)


async def start_exporter(sim: SimulatedWorkspace, clock: ManualClock) -> Running:
    """Start an exporter on `sim` and wait until every collector has refreshed once."""
    exporter = Exporter(settings_for(sim), clock=clock)
    await exporter.start()
    async with asyncio.timeout(60):
        while not exporter.scheduler.ready():  # noqa: ASYNC110  (polling, with a deadline)
            await asyncio.sleep(0.02)
    host, port = exporter.web.addresses[0]
    return Running(sim, exporter, f"http://{host}:{port}")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def running() -> AsyncIterator[Running]:
    """Small preset, seed 1, clock frozen at NOW for both the workspace and the exporter."""
    sim = SimulatedWorkspace(seed=SEED, scale="small", now=NOW)
    await sim.start()
    try:
        clock = ManualClock(start=NOW.timestamp())
        running = await start_exporter(sim, clock)
        try:
            yield running
        finally:
            await running.exporter.stop()
    finally:
        await sim.stop()
