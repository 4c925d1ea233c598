"""Fixtures: one simulated workspace for the package, a fresh exporter per test, captured logs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from databricks_exporter.settings import Settings
from databricks_exporter.sim import ThreadedWorkspace

from .harness import NOW, Harness, settings_for

MakeHarness = Callable[..., Harness]


@pytest.fixture(scope="package")
def workspace() -> Iterator[ThreadedWorkspace]:
    """The small generated data set, clock frozen at NOW, on its own thread and loop."""
    with ThreadedWorkspace(seed=1, scale="small", now=NOW) as ws:
        yield ws


@pytest.fixture
def sim(workspace: ThreadedWorkspace) -> Iterator[ThreadedWorkspace]:
    """The module's workspace with no faults, nothing in flight and zeroed counters."""
    deadline = time.monotonic() + 10
    while workspace.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.01)  # a previous test's cancelled statements are still settling
    workspace.faults.clear()
    workspace.reset_stats()
    yield workspace
    workspace.faults.clear()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the exporter and the workspace's admin API."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        yield client


@pytest_asyncio.fixture
async def make_harness(
    sim: ThreadedWorkspace, session: aiohttp.ClientSession
) -> AsyncIterator[MakeHarness]:
    """Build exporters on `sim` (`settings_for` keywords, or `settings=`); stopped at the end."""
    made: list[Harness] = []

    def make(settings: Settings | None = None, **changes: Any) -> Harness:
        harness = Harness(sim, settings or settings_for(sim, **changes), session)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.stop()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every exporter log line at info and above."""
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    return caplog
