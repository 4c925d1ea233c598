"""Scheduler behaviour with a manual clock and a scripted warehouse (unit level).

End-to-end behaviour against the simulated workspace lives in tests/e2e; here the warehouse
is a small scripted double so each scheduling rule can be driven precisely.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from databricks_exporter.clock import ManualClock
from databricks_exporter.collectors.base import CollectorData, MetricSpec, build_families
from databricks_exporter.exposition import Exposition
from databricks_exporter.scheduler import Scheduler
from databricks_exporter.settings import CollectorSettings, Secret, Settings, Workspace
from databricks_exporter.warehouse.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ResultError,
    StatementTimeoutError,
    TableNotFoundError,
    ThrottledError,
    WarehouseAccessError,
    WarehouseError,
)
from databricks_exporter.warehouse.result import Column, Statement, StatementResult

SPEC = MetricSpec("demo_runs_total", "counter", "Runs in the window.", ("workspace_id",))
TABLE = "system.lakeflow.pipeline_update_timeline"
Outcome = StatementResult | WarehouseError


def result(value: float) -> StatementResult:
    columns = (
        Column("metric", "STRING"),
        Column("workspace_id", "STRING"),
        Column("value", "DOUBLE"),
    )
    rows = (("demo_runs_total", "ws1", value), ("__now__", None, 1_800_000_000.0))
    return StatementResult("stmt", columns, rows)


class DemoCollector:
    """A one-metric collector."""

    def __init__(self, name: str = "jobs") -> None:
        self.name = name
        self.tables: tuple[str, ...] = (TABLE,)
        self.metrics: tuple[MetricSpec, ...] = (SPEC,)

    def statement(self) -> Statement:
        return Statement("SELECT 1")

    def build(self, result: StatementResult) -> CollectorData:
        return build_families(self.name, self.metrics, result)


class ScriptedWarehouse:
    """Answers each execute with the next scripted outcome; the last one repeats."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.running = 0
        self.peak_running = 0
        self.gate: threading.Event | None = None
        self.cancelled = threading.Event()
        self._lock = threading.Lock()

    def execute(
        self, statement: Statement, *, tags: Mapping[str, str], timeout: float | None = None
    ) -> StatementResult:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        try:
            if self.gate is not None:
                self.gate.wait(10)
            if isinstance(outcome, WarehouseError):
                raise outcome
            return outcome
        finally:
            with self._lock:
                self.running -= 1

    def cancel_all(self) -> None:
        self.cancelled.set()
        if self.gate is not None:
            self.gate.set()


def make_settings(**changes: object) -> Settings:
    collector = CollectorSettings("jobs", True, interval=300, max_age=900)
    base = Settings(
        workspace=Workspace("https://dbc.example", "wh", "sp-app-id", Secret("x")),
        collectors=(collector,),
        idle_pause=1800,
        table_probe_every=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `predicate` until it holds; fail after `within` real seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


class Harness:
    def __init__(
        self,
        warehouse: ScriptedWarehouse,
        settings: Settings | None = None,
        names: tuple[str, ...] = ("jobs",),
    ) -> None:
        self.clock = ManualClock()
        self.warehouse = warehouse
        self.exposition = Exposition()
        self.scheduler = Scheduler(
            settings or make_settings(),
            [DemoCollector(name) for name in names],
            warehouse,
            self.exposition,
            clock=self.clock,
            rng=random.Random(7),
        )

    def text(self) -> str:
        return self.exposition.current.text.decode()

    def asleep(self) -> bool:
        """Every collector finished its refresh and sleeps on the clock until the next one."""
        states = self.scheduler.refresh_states()
        return self.clock.sleeping == len(states) and set(states.values()) == {"idle"}

    def sample(self, line_start: str) -> float | None:
        for line in self.text().splitlines():
            if line.startswith(line_start + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    async def advance(self, seconds: float, calls: int) -> None:
        """Advance the clock once the collector sleeps, then wait for `calls` statements."""
        await until(self.asleep)
        self.clock.advance(seconds)
        await until(lambda: self.warehouse.calls >= calls)
        await until(self.asleep)


@pytest.fixture
async def stop_later() -> object:
    harnesses: list[Harness] = []
    yield harnesses.append
    for harness in harnesses:
        await harness.scheduler.stop()


async def test_success_publishes_series_and_self_metrics(
    stop_later: Callable[[Harness], None],
) -> None:
    h = Harness(ScriptedWarehouse(result(3)))
    stop_later(h)
    assert not h.scheduler.ready()
    await h.scheduler.start()
    await until(h.scheduler.ready)
    await until(h.asleep)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 3.0
    assert h.sample("databricks_up") == 1.0
    assert (
        h.sample('databricks_exporter_statements_total{collector="jobs",outcome="success"}') == 1.0
    )
    assert h.sample('databricks_exporter_collector_last_refresh_success{collector="jobs"}') == 1.0
    assert h.sample('databricks_exporter_collector_series{collector="jobs"}') == 1.0
    assert h.sample(f'databricks_exporter_table_readable{{table="{TABLE}"}}') == 1.0
    assert (
        h.sample('databricks_exporter_collector_data_as_of_timestamp_seconds{collector="jobs"}')
        == 1.8e9
    )
    [status] = h.scheduler.collectors()
    assert (status.last_result, status.series) == ("success", 1)
    assert status.next_refresh == h.clock.wall() + 300


async def test_refreshes_on_its_interval(stop_later: Callable[[Harness], None]) -> None:
    h = Harness(ScriptedWarehouse(result(1), result(2)))
    stop_later(h)
    await h.scheduler.start()
    await until(lambda: h.warehouse.calls == 1)
    await until(h.asleep)
    h.clock.advance(299)
    await asyncio.sleep(0.05)
    assert h.warehouse.calls == 1
    await h.advance(1, calls=2)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 2.0


async def test_failure_keeps_previous_snapshot_and_backs_off(
    stop_later: Callable[[Harness], None], caplog: pytest.LogCaptureFixture
) -> None:
    network = ConnectionFailedError("connection refused")
    h = Harness(ScriptedWarehouse(result(5), network, network, network, result(6)))
    stop_later(h)
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    await h.scheduler.start()
    await h.advance(300, calls=2)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 5.0
    assert h.sample("databricks_up") == 0.0
    assert h.sample('databricks_exporter_collector_last_refresh_success{collector="jobs"}') == 0.0
    [status] = h.scheduler.collectors()
    # backoff starts at 15 s with +-20 % jitter, then doubles, capped at the interval
    assert 12 <= status.next_refresh - h.clock.wall() <= 18  # type: ignore[operator]
    await h.advance(18, calls=3)
    [status] = h.scheduler.collectors()
    assert 24 <= status.next_refresh - h.clock.wall() <= 36  # type: ignore[operator]
    await h.advance(36, calls=4)
    await h.advance(72, calls=5)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 6.0
    assert h.sample("databricks_up") == 1.0
    failures = [r for r in caplog.records if r.getMessage().startswith("workspace failing")]
    assert len(failures) == 1, "one log line per change of state, not per attempt"
    assert [r for r in caplog.records if r.getMessage() == "workspace contact restored"]


async def test_throttling_waits_at_least_retry_after(stop_later: Callable[[Harness], None]) -> None:
    h = Harness(ScriptedWarehouse(ThrottledError("slow down", retry_after=120), result(1)))
    stop_later(h)
    await h.scheduler.start()
    await until(h.asleep)
    [status] = h.scheduler.collectors()
    assert status.next_refresh == h.clock.wall() + 120


async def test_auth_failure_sets_up_to_zero_and_counts(
    stop_later: Callable[[Harness], None],
) -> None:
    h = Harness(ScriptedWarehouse(AuthenticationError("invalid_client")))
    stop_later(h)
    await h.scheduler.start()
    await until(h.scheduler.ready)
    await until(h.asleep)
    assert h.sample("databricks_up") == 0.0
    assert h.sample('databricks_exporter_statements_total{collector="jobs",outcome="auth"}') == 1.0
    assert h.sample('demo_runs_total{workspace_id="ws1"}') is None
    assert "databricks_exporter_collector_last_success_timestamp_seconds{" not in h.text()


async def test_missing_table_withdraws_and_probes_every_n_intervals(
    stop_later: Callable[[Harness], None], caplog: pytest.LogCaptureFixture
) -> None:
    missing = TableNotFoundError("[TABLE_OR_VIEW_NOT_FOUND]", table=TABLE)
    h = Harness(ScriptedWarehouse(result(1), missing, missing, result(4)))
    stop_later(h)
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    await h.scheduler.start()
    await h.advance(300, calls=2)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') is None, "only its metrics are absent"
    assert h.sample("databricks_up") == 1.0, "the warehouse answered"
    assert h.sample(f'databricks_exporter_table_readable{{table="{TABLE}"}}') == 0.0
    [status] = h.scheduler.collectors()
    assert status.next_refresh == h.clock.wall() + 600
    await h.advance(600, calls=3)
    await h.advance(600, calls=4)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 4.0
    assert h.sample(f'databricks_exporter_table_readable{{table="{TABLE}"}}') == 1.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert TABLE in warnings[0].kv["table"]  # type: ignore[attr-defined]
    assert warnings[0].kv["fix"].endswith(f"GRANT SELECT ON TABLE {TABLE} TO `sp-app-id`")  # type: ignore[attr-defined]


async def test_stale_series_are_withdrawn_after_max_age(
    stop_later: Callable[[Harness], None],
) -> None:
    network = ConnectionFailedError("down")
    settings = make_settings(
        collectors=(CollectorSettings("jobs", True, interval=300, max_age=900),)
    )
    h = Harness(ScriptedWarehouse(result(1), network), settings)
    stop_later(h)
    await h.scheduler.start()
    await until(h.asleep)
    for _ in range(12):
        h.clock.advance(60)
        await asyncio.sleep(0.01)
        await until(h.asleep)
    assert h.clock.wall() - 1_700_000_000 == 720
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 1.0
    for _ in range(4):
        h.clock.advance(60)
        await asyncio.sleep(0.01)
        await until(h.asleep)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') is None
    assert h.sample('databricks_exporter_collector_stale{collector="jobs"}') == 1.0


async def test_idle_pause_stops_refreshes_until_a_scrape(
    stop_later: Callable[[Harness], None],
) -> None:
    h = Harness(ScriptedWarehouse(result(1)))
    stop_later(h)
    await h.scheduler.start()
    await until(lambda: h.warehouse.calls == 1)
    for expected_calls in range(2, 7):
        await h.advance(300, calls=expected_calls)
    # 1500 s since the last scrape: the 7th refresh (at 1800 s) finds nobody scraping
    await until(h.asleep)
    h.clock.advance(300)
    await until(lambda: h.sample("databricks_exporter_idle_paused") == 1.0)
    assert h.warehouse.calls == 6
    assert (
        h.sample('databricks_exporter_collector_refresh_state{collector="jobs",state="paused"}')
        == 1.0
    )
    h.clock.advance(3600)
    await asyncio.sleep(0.05)
    assert h.warehouse.calls == 6, "no refresh while nobody scrapes"
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 1.0, "last snapshot still served"
    h.scheduler.scraped()
    await until(lambda: h.warehouse.calls == 7)
    await until(lambda: h.sample("databricks_exporter_idle_paused") == 0.0)


async def test_one_statement_in_flight_per_collector(stop_later: Callable[[Harness], None]) -> None:
    warehouse = ScriptedWarehouse(result(1))
    warehouse.gate = threading.Event()
    h = Harness(warehouse)
    stop_later(h)
    await h.scheduler.start()
    await until(lambda: warehouse.calls == 1)
    h.clock.advance(3000)
    await asyncio.sleep(0.05)
    assert warehouse.calls == 1
    assert (
        h.sample('databricks_exporter_collector_refresh_state{collector="jobs",state="running"}')
        == 1.0
    )
    warehouse.gate.set()
    await until(h.scheduler.ready)
    assert warehouse.peak_running == 1


async def test_stop_cancels_statements_in_flight() -> None:
    warehouse = ScriptedWarehouse(result(1))
    warehouse.gate = threading.Event()
    h = Harness(warehouse)
    await h.scheduler.start()
    await until(lambda: warehouse.calls == 1)
    await asyncio.wait_for(h.scheduler.stop(), 5)
    assert warehouse.cancelled.is_set()


async def test_a_bug_in_build_does_not_kill_the_collector(
    stop_later: Callable[[Harness], None],
) -> None:
    bad = StatementResult("s", (Column("metric", "STRING"),), (("x",),))
    h = Harness(ScriptedWarehouse(bad, result(2)))
    stop_later(h)
    await h.scheduler.start()
    await until(h.scheduler.ready)
    await until(h.asleep)
    assert (
        h.sample('databricks_exporter_statements_total{collector="jobs",outcome="bad_result"}')
        == 1.0
    )
    assert h.sample("databricks_up") == 1.0
    await h.advance(300, calls=2)
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 2.0


async def test_series_are_withdrawn_at_max_age_even_while_a_refresh_runs(
    stop_later: Callable[[Harness], None],
) -> None:
    warehouse = ScriptedWarehouse(result(1), result(2))
    h = Harness(warehouse)
    stop_later(h)
    await h.scheduler.start()
    await until(h.asleep)
    warehouse.gate = threading.Event()
    h.clock.advance(300)
    await until(lambda: warehouse.calls == 2)
    h.clock.advance(600)  # exactly the max age of the first success
    await until(lambda: h.sample('demo_runs_total{workspace_id="ws1"}') is None)
    assert h.sample('databricks_exporter_collector_stale{collector="jobs"}') == 1.0
    assert h.scheduler.refresh_states()["jobs"] == "running"
    warehouse.gate.set()
    await until(lambda: h.sample('demo_runs_total{workspace_id="ws1"}') == 2.0)
    assert h.sample('databricks_exporter_collector_stale{collector="jobs"}') == 0.0


def two_collectors() -> Settings:
    return make_settings(
        collectors=tuple(
            CollectorSettings(name, True, interval=300, max_age=900) for name in ("jobs", "sql")
        ),
        idle_pause=0,
    )


async def test_an_outage_is_logged_once_for_the_exporter_not_per_collector(
    stop_later: Callable[[Harness], None], caplog: pytest.LogCaptureFixture
) -> None:
    network = ConnectionFailedError("connection refused")
    h = Harness(ScriptedWarehouse(network), two_collectors(), names=("jobs", "sql"))
    stop_later(h)
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    await h.scheduler.start()
    await until(lambda: h.warehouse.calls == 2)
    for calls in (4, 6, 8):  # each 300 s wakes both: their backoffs are shorter
        await h.advance(300, calls=calls)
    h.warehouse.outcomes = [result(3)]
    await h.advance(300, calls=10)

    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("workspace failing")]) == 1
    assert messages.count("workspace contact restored") == 1
    assert "refresh failed" not in messages
    assert h.sample("databricks_up") == 1.0


async def test_a_collectors_own_failure_is_logged_per_collector_and_change(
    stop_later: Callable[[Harness], None], caplog: pytest.LogCaptureFixture
) -> None:
    timeout = StatementTimeoutError("still RUNNING after 300s; cancelled on the warehouse")
    outcomes = (result(1), timeout, timeout, ResultError("no __now__ row"), result(2))
    h = Harness(ScriptedWarehouse(*outcomes))
    stop_later(h)
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    await h.scheduler.start()
    for calls in range(2, 6):
        await h.advance(300, calls=calls)

    failed = [r.kv["kind"] for r in caplog.records if r.getMessage() == "refresh failed"]  # type: ignore[attr-defined]
    assert failed == ["timeout", "bad_result"]
    [recovered] = [r for r in caplog.records if r.getMessage() == "refresh recovered"]
    assert recovered.kv["after"] == "bad_result"  # type: ignore[attr-defined]


async def test_warehouse_refused_is_an_outage_not_an_unreadable_table(
    stop_later: Callable[[Harness], None],
) -> None:
    refused = WarehouseAccessError("permission denied: no CAN USE on the warehouse")
    h = Harness(ScriptedWarehouse(result(1), refused))
    stop_later(h)
    await h.scheduler.start()
    await h.advance(300, calls=2)

    assert h.sample("databricks_up") == 0.0
    assert h.sample('demo_runs_total{workspace_id="ws1"}') == 1.0, "kept until max age"
    assert h.sample(f'databricks_exporter_table_readable{{table="{TABLE}"}}') == 1.0
    [status] = h.scheduler.collectors()
    assert (status.last_result, status.next_refresh) == ("permission", h.clock.wall() + 300)


async def test_refreshes_keep_their_cadence_whatever_a_statement_takes(
    stop_later: Callable[[Harness], None],
) -> None:
    warehouse = ScriptedWarehouse(result(1))
    warehouse.gate = threading.Event()
    h = Harness(warehouse)
    stop_later(h)
    start = h.clock.wall()
    await h.scheduler.start()
    await until(lambda: warehouse.calls == 1)
    h.clock.advance(100)  # the first statement takes 100 s
    warehouse.gate.set()
    await until(h.scheduler.ready)
    await until(lambda: h.clock.sleeping > 0)
    [status] = h.scheduler.collectors()
    assert status.next_refresh == start + 300, "the interval counts from the refresh's start"
    warehouse.gate = threading.Event()
    h.clock.advance(200)
    await until(lambda: warehouse.calls == 2)
    h.clock.advance(250)  # the second, started at 300 s, overruns its interval: 550 s
    warehouse.gate.set()
    await until(lambda: h.scheduler.collectors()[0].last_attempt == start + 550)
    await until(lambda: h.clock.sleeping > 0)
    [status] = h.scheduler.collectors()
    assert status.next_refresh == start + 600, "the next tick, not back to back"
