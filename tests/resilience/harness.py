"""The whole exporter on the simulated workspace over real HTTP, with its schedule driven by hand.

The exporter's scheduling runs on a `SteppingClock`, a ManualClock that knows its next wake-up:
`settle()` waits, polling in real time with a deadline, until every collector is asleep on the
clock or paused; `step()` moves the clock to the next wake-up; `run_until()` steps up to a
moment. What happens inside one refresh (HTTP, retries, the statement deadline) runs in real
time against the simulated workspace, whose delays the tests keep to a few seconds.

Metrics are read two ways: `scrape()` is a real GET of `/metrics` (it counts as a scrape, so it
resumes an idle pause), `metrics()` reads the bytes the exporter would serve without scraping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from databricks_exporter.app import Exporter
from databricks_exporter.clock import ManualClock
from databricks_exporter.settings import (
    COLLECTOR_NAMES,
    CollectorSettings,
    Secret,
    Settings,
    Workspace,
)
from databricks_exporter.sim import ThreadedWorkspace
from databricks_exporter.status import CollectorStatus
from databricks_exporter.warehouse.client import WarehouseClient

NOW = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC)
COLLECTORS = COLLECTOR_NAMES
PIPELINES_TABLE = "system.lakeflow.pipeline_update_timeline"
INTERVAL = 300.0
MAX_AGE = 900.0
#: Real seconds a test waits for the exporter to settle after the clock moved.
SETTLE_WITHIN = 30.0
MAX_STEPS = 500
#: Wake-ups this close to the end of a run still belong to it (float rounding of the clock).
_TOLERANCE = 1e-6


class SteppingClock(ManualClock):
    """A ManualClock that can tell when its next sleeper wakes."""

    def next_wake(self) -> float | None:
        """The earliest deadline of a task sleeping on this clock, if any."""
        return min((at for at, future in self._sleepers if not future.done()), default=None)

    def advance_to(self, moment: float) -> None:
        """Move the clock to `moment` (never backwards)."""
        self.advance(max(0.0, moment - self.monotonic()))
        if self.monotonic() < moment:  # float rounding left it a hair short
            self.advance(math.ulp(moment))


class Metrics:
    """One text-format exposition body, indexed by sample line (parsed only where asked)."""

    def __init__(self, text: str) -> None:
        self.text = text
        #: `name{labels}` exactly as rendered -> value; equal series render equally.
        self.samples: dict[str, float] = {}
        self._by_name: dict[str, list[str]] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            self.samples[key] = float(value)
            name = key.split("{", 1)[0]
            self._by_name.setdefault(name, []).append(key)

    def value(self, name: str, **labels: str) -> float | None:
        """The sample's value, None when the series is absent."""
        for key in self._by_name.get(name, ()):
            if _labels(key) == labels:
                return self.samples[key]
        return None

    def count(self, prefix: str) -> int:
        """How many series have a name starting with `prefix`."""
        return len(self.of(prefix))

    def of(self, prefix: str) -> dict[str, float]:
        """Every series whose name starts with `prefix`."""
        return {key: v for key, v in self.samples.items() if key.startswith(prefix)}

    def state(self, collector: str) -> str | None:
        """The collector's refresh state as the self-metrics show it."""
        for state in ("idle", "pending", "running", "paused"):
            name = "databricks_exporter_collector_refresh_state"
            if self.value(name, collector=collector, state=state) == 1.0:
                return state
        return None

    def statements(self, collector: str, outcome: str) -> float:
        """`databricks_exporter_statements_total` of one collector and outcome."""
        name = "databricks_exporter_statements_total"
        return self.value(name, collector=collector, outcome=outcome) or 0.0


#: The metric families each collector exports (series present when it serves data).
DOMAIN_PREFIX = {
    "billing": ("databricks_billing_", "databricks_price_change_events"),
    "jobs": ("databricks_job_", "databricks_task_retries"),
    "pipelines": ("databricks_pipeline_",),
    "queries": ("databricks_quer",),
}


def _paused_line(collector: str) -> bytes:
    name = "databricks_exporter_collector_refresh_state"
    return f'{name}{{collector="{collector}",state="paused"}} 1.0\n'.encode()


def _labels(key: str) -> dict[str, str]:
    """The labels of one rendered series, escapes undone by the client library's parser."""
    [family] = text_string_to_metric_families(key + " 0\n")
    return dict(family.samples[0].labels)


def domain_series(metrics: Metrics, collector: str) -> dict[str, float]:
    """The series a collector serves (its own metrics, not the self-metrics)."""
    out: dict[str, float] = {}
    for prefix in DOMAIN_PREFIX[collector]:
        out.update(metrics.of(prefix))
    return out


def settings_for(
    sim: ThreadedWorkspace,
    *,
    secret: Secret | None = None,
    interval: float = INTERVAL,
    max_age: float = MAX_AGE,
    only: tuple[str, ...] = COLLECTORS,
    **changes: Any,
) -> Settings:
    """Collectors (`only` enabled) on `interval`, pointed at `sim`, on a free loopback port."""
    workspace = Workspace(
        sim.url, sim.warehouse_id, sim.client_id, secret or Secret(sim.client_secret)
    )
    collectors = tuple(
        CollectorSettings(name, name in only, interval, max_age) for name in COLLECTORS
    )
    base = Settings(
        workspace=workspace,
        listen_addresses=("127.0.0.1:0",),
        collectors=collectors,
        statement_timeout=3.0,
        table_probe_every=2,
        idle_pause=0.0,
    )
    return replace(base, **changes)


async def until(
    predicate: Callable[[], bool], within: float = SETTLE_WITHIN, what: str = "a condition"
) -> None:
    """Poll `predicate` every few milliseconds; fail after `within` real seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.005)


class Harness:
    """An Exporter (web front, scheduler, warehouse client) on a stepping clock."""

    def __init__(
        self, sim: ThreadedWorkspace, settings: Settings, session: aiohttp.ClientSession
    ) -> None:
        self.sim = sim
        self.settings = settings
        self.session = session
        self.clock = SteppingClock(start=NOW.timestamp())
        assert settings.workspace is not None
        # The production client, polling more often than its default (0.1 s growing by half
        # each time): the simulated statements take tens of milliseconds, the tests many steps.
        warehouse = WarehouseClient(
            settings.workspace,
            statement_timeout=settings.statement_timeout,
            poll_interval=0.02,
            max_poll_interval=0.5,
        )
        self.exporter = Exporter(settings, clock=self.clock, warehouse=warehouse)
        self.started_at = self.clock.monotonic()
        self._running = False

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self, *, settle: bool = True) -> None:
        """Start listening and refreshing; by default wait until every first refresh ended."""
        await self.exporter.start()
        self._running = True
        if settle:
            await until(self.exporter.scheduler.ready, what="every first refresh")
            await self.settle()

    async def stop(self) -> None:
        """Stop the exporter (idempotent)."""
        if self._running:
            self._running = False
            await self.exporter.stop()

    @property
    def url(self) -> str:
        """Where the exporter listens."""
        host, port = self.exporter.web.addresses[0]
        return f"http://{host}:{port}"

    # ----- reading the exporter --------------------------------------------------------

    def metrics(self) -> Metrics:
        """What a scrape would get now, without scraping (an idle pause stays paused)."""
        return Metrics(self.exporter.scheduler.rendered().text.decode())

    async def get(self, path: str) -> tuple[int, str]:
        """A real GET of the exporter; status and body."""
        async with self.session.get(self.url + path) as response:
            return response.status, await response.text()

    async def scrape(self) -> Metrics:
        """A real scrape of `/metrics`; it must answer 200."""
        status, body = await self.get("/metrics")
        assert status == 200, f"/metrics answered {status}"
        return Metrics(body)

    def statuses(self) -> dict[str, CollectorStatus]:
        """The landing page's view of every collector."""
        return {status.name: status for status in self.exporter.scheduler.collectors()}

    # ----- driving time ----------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the harness was built, on the exporter's clock."""
        return self.clock.monotonic() - self.started_at

    def settled(self) -> bool:
        """Every collector sleeps on the clock or is paused, and has published so."""
        states = self.exporter.scheduler.refresh_states()
        idle = [name for name, state in states.items() if state == "idle"]
        paused = [name for name, state in states.items() if state == "paused"]
        if len(idle) + len(paused) != len(states) or self.clock.sleeping != len(idle):
            return False
        if not paused:
            return True
        shown = self.exporter.scheduler.rendered().text  # pausing publishes after the change
        return all(_paused_line(name) in shown for name in paused)

    async def settle(self, within: float = SETTLE_WITHIN) -> None:
        """Wait until the refreshes the clock started have ended."""
        await until(self.settled, within, "the collectors to settle")

    async def step(self) -> bool:
        """Move the clock to the next wake-up and settle; False when nothing sleeps."""
        await self.settle()
        wake = self.clock.next_wake()
        if wake is None:
            return False
        self.clock.advance_to(wake)
        await self.settle()
        return True

    async def run_until(
        self, moment: float, each: Callable[[], Any] | None = None, within: float = 60.0
    ) -> None:
        """Step through every wake-up up to `moment` (harness seconds), then settle there."""
        target = self.started_at + moment
        deadline = time.monotonic() + within
        for _ in range(MAX_STEPS):
            await self.settle()
            if each is not None:
                result = each()
                if asyncio.iscoroutine(result):
                    await result
            wake = self.clock.next_wake()
            if wake is None or wake > target + _TOLERANCE:
                break
            assert time.monotonic() < deadline, "the steps took too long in real time"
            self.clock.advance_to(wake)
        else:
            raise AssertionError(f"more than {MAX_STEPS} wake-ups before {moment}")
        if self.clock.monotonic() < target:
            self.clock.advance_to(target)
        await self.settle()

    async def run_for(self, seconds: float, each: Callable[[], Any] | None = None) -> None:
        """`run_until(now + seconds)`."""
        await self.run_until(self.now() + seconds, each)

    # ----- the simulated workspace, through its admin API -------------------------------

    async def sim_stats(self) -> dict[str, Any]:
        """`GET /admin/stats` of the simulated workspace."""
        async with self.session.get(self.sim.url + "/admin/stats") as response:
            assert response.status == 200
            stats: dict[str, Any] = await response.json()
            return stats

    async def sim_statements(self, limit: int = 1000) -> list[dict[str, Any]]:
        """`GET /admin/statements`, newest first."""
        url = f"{self.sim.url}/admin/statements?limit={limit}"
        async with self.session.get(url) as response:
            assert response.status == 200
            listed: list[dict[str, Any]] = await response.json()
            return listed

    async def reset_sim_stats(self) -> None:
        """`POST /admin/reset-stats`: count from here."""
        async with self.session.post(self.sim.url + "/admin/reset-stats") as response:
            assert response.status == 200

    async def set_faults(self, faults: Mapping[str, Any]) -> None:
        """`POST /admin/faults`: replace every fault."""
        async with self.session.post(self.sim.url + "/admin/faults", json=faults) as response:
            assert response.status == 200, await response.text()


def by_collector(stats: Mapping[str, Any], outcome: str = "received") -> dict[str, int]:
    """Statements the workspace saw per `collector` query tag, by outcome."""
    tags = stats["by_tag"].get("collector", {})
    return {name: int(tags.get(name, {}).get(outcome, 0)) for name in COLLECTORS}


def events(records: Iterable[logging.LogRecord], logger: str = "") -> list[logging.LogRecord]:
    """The exporter's log records, from one module's logger if given."""
    name = "databricks_exporter" + (f".{logger}" if logger else "")
    return [r for r in records if r.name == name or r.name.startswith(name + ".")]


def kv(record: logging.LogRecord) -> dict[str, Any]:
    """The key/value pairs of a structured log record."""
    pairs: dict[str, Any] = getattr(record, "kv", {})
    return pairs


def close_to(value: float | None, expected: float, tolerance: float = 1e-3) -> bool:
    """`value` is present and within `tolerance` of `expected`."""
    return value is not None and math.isclose(value, expected, abs_tol=tolerance)
