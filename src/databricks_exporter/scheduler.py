"""Background refresh: one task per collector, at most one statement in flight each.

A refresh sends the collector's statement in a worker thread, builds and renders its families
there, and publishes the rendered part. A failure keeps the previous part (until it is older
than the collector's max age, which is watched between refreshes and during a slow one),
records why, and picks the next attempt: the interval after a success or an ordinary failure,
a jittered backoff after auth/network/throttling/server failures, and `table_probe_every`
intervals while a table is not readable. A failure of the workspace as a whole is logged once
for the exporter as it begins, changes or ends; a collector's own failure once per change.
When nobody has scraped for `idle_pause`, no new refresh starts until the next scrape, after
which the collectors have a full max age to succeed again.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from databricks_exporter.clock import Clock
from databricks_exporter.collectors.base import Collector, CollectorData, Folded
from databricks_exporter.exposition import Exposition, Part, Rendered
from databricks_exporter.logs import get_logger
from databricks_exporter.selfmetrics import CollectorView, exporter_families, health_families
from databricks_exporter.settings import CollectorSettings, Settings
from databricks_exporter.status import CollectorStatus
from databricks_exporter.warehouse.errors import (
    InsufficientPermissionsError,
    ResultError,
    TableNotFoundError,
    ThrottledError,
    WarehouseAccessError,
    WarehouseError,
)
from databricks_exporter.warehouse.result import Statement, StatementResult

log = get_logger("scheduler")

HEALTH_PART = "_health"
EXPORTER_PART = "_exporter"
#: Failures worth retrying sooner than the interval, with backoff.
TRANSIENT = frozenset({"auth", "network", "throttled", "server"})
#: Outcomes that show the workspace answered (docs/metrics.md: `databricks_up` is 1).
CONTACT_OK = frozenset({"success", "table_missing", "permission", "failed", "bad_result"})
BACKOFF_START = 15.0
#: How often a refresh in progress looks at its statement's state (PENDING = cold start).
WATCH_EVERY = 1.0
T = TypeVar("T")


class Warehouse(Protocol):
    """What the scheduler needs from the warehouse client."""

    def execute(
        self, statement: Statement, *, tags: Mapping[str, str], timeout: float | None = None
    ) -> StatementResult:
        """Run one statement to completion (blocking)."""

    def cancel_all(self) -> None:
        """Cancel every statement in flight on the warehouse."""


class InFlightView(Protocol):
    """A statement in flight as the warehouse client reports it."""

    @property
    def tags(self) -> Mapping[str, str]: ...

    @property
    def state(self) -> str: ...


@dataclass
class _Runner:
    """Mutable bookkeeping of one collector, touched only from the event loop."""

    collector: Collector
    settings: CollectorSettings
    state: str = "idle"
    first_done: bool = False
    last_kind: str = "pending"
    last_success: float | None = None
    last_attempt: float | None = None
    duration: float | None = None
    as_of: float | None = None
    series: int = 0
    withheld: int = 0
    serving: bool = False
    stale: bool = False
    fresh_until: float | None = None
    failures: int = 0
    #: The collector's own failure last logged (None once it recovered): logs change of state.
    reported: str | None = None
    #: The last attempt found a table not readable: probe every `table_probe_every` intervals.
    unreadable: bool = False
    retry_after: float = 0.0
    next_due: float | None = None
    detail: str = ""
    statements: Counter[str] = field(default_factory=Counter)
    folded: tuple[Folded, ...] | None = None

    @property
    def name(self) -> str:
        return self.collector.name


class Scheduler:
    """Runs the collectors in the background and keeps the exposition current."""

    def __init__(
        self,
        settings: Settings,
        collectors: Sequence[Collector],
        warehouse: Warehouse,
        exposition: Exposition,
        *,
        clock: Clock,
        executor: Executor | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._runners = [_Runner(c, settings.collector(c.name)) for c in collectors]
        self._warehouse = warehouse
        self._exposition = exposition
        self._clock = clock
        self._executor = executor
        self._rng = rng or random.Random()  # noqa: S311  (jitter, not cryptography)
        self._tasks: list[asyncio.Task[None]] = []
        self._tables: dict[str, bool] = {}
        self._up = False
        self._outage: str | None = None
        self._last_scrape = clock.monotonic()
        self._activity = asyncio.Event()
        self._activity.set()
        self._paused = False
        self._publish_lock = asyncio.Lock()
        exposition.set_order([HEALTH_PART, *(r.name for r in self._runners), EXPORTER_PART])

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Publish the self-metrics and start one task per collector."""
        await self._publish({})
        for runner in self._runners:
            task = asyncio.create_task(self._run(runner), name=f"collector-{runner.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Stop refreshing and cancel statements in flight on the warehouse."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if running := len(self._in_flight() or ()):
            log.info("cancelling statements in flight", statements=running)
        await asyncio.get_running_loop().run_in_executor(None, self._warehouse.cancel_all)

    # ----- ExporterState ---------------------------------------------------------------

    def rendered(self) -> Rendered:
        """The current pre-rendered exposition."""
        return self._exposition.current

    def ready(self) -> bool:
        """True once every collector finished its first refresh attempt."""
        return all(runner.first_done for runner in self._runners)

    def refresh_states(self) -> dict[str, str]:
        """What each enabled collector is doing: idle, pending, running or paused."""
        return {runner.name: runner.state for runner in self._runners}

    def scraped(self) -> None:
        """Note a scrape; wakes collectors paused for lack of scrapes."""
        self._last_scrape = self._clock.monotonic()
        if not self._activity.is_set():
            self._activity.set()

    def collectors(self) -> list[CollectorStatus]:
        """Status of every collector for the landing page, disabled ones included."""
        running = {runner.name: runner for runner in self._runners}
        statuses = []
        for settings in self._settings.collectors:
            runner = running.get(settings.name)
            statuses.append(self._status(settings, runner))
        return statuses

    def _status(self, settings: CollectorSettings, runner: _Runner | None) -> CollectorStatus:
        if runner is None:
            return CollectorStatus(
                settings.name, False, settings.interval, None, "disabled", None, None, 0
            )
        return CollectorStatus(
            name=runner.name,
            enabled=True,
            interval=settings.interval,
            last_attempt=runner.last_attempt,
            last_result=runner.last_kind,
            last_success=runner.last_success,
            next_refresh=None if self._paused else runner.next_due,
            series=runner.series,
            detail=runner.detail,
        )

    # ----- the loop --------------------------------------------------------------------

    async def _run(self, runner: _Runner) -> None:
        while True:
            await self._wait_until_scraped(runner)
            delay = await self._refresh(runner)
            await self._sleep(runner, delay)

    async def _wait_until_scraped(self, runner: _Runner) -> None:
        pause = self._settings.idle_pause
        if pause <= 0 or self._clock.monotonic() - self._last_scrape < pause:
            return
        self._activity.clear()
        if not self._paused:
            self._paused = True
            log.info("refreshes paused: no scrape recently", idle_for=pause)
        runner.state = "paused"
        await self._publish({})
        await self._activity.wait()
        if self._paused:
            self._paused = False
            log.info("refreshes resumed by a scrape")
        runner.state = "idle"
        if runner.fresh_until is not None:
            runner.fresh_until = max(
                runner.fresh_until, self._clock.monotonic() + runner.settings.max_age
            )

    async def _sleep(self, runner: _Runner, delay: float) -> None:
        due = self._clock.monotonic() + delay
        while (remaining := due - self._clock.monotonic()) > 0:
            until_stale = self._until_stale(runner)
            if until_stale is not None and until_stale <= 0:
                await self._withdraw(runner)
                continue
            step = remaining if until_stale is None else min(remaining, until_stale)
            await self._clock.sleep(step)

    def _until_stale(self, runner: _Runner) -> float | None:
        if not runner.serving or runner.fresh_until is None:
            return None
        return runner.fresh_until - self._clock.monotonic()

    async def _withdraw(self, runner: _Runner) -> None:
        runner.serving, runner.stale, runner.series = False, True, 0
        log.warning(
            "series withdrawn: no successful refresh within max age",
            collector=runner.name,
            max_age=runner.settings.max_age,
        )
        await self._publish({runner.name: None})

    # ----- one refresh -----------------------------------------------------------------

    async def _refresh(self, runner: _Runner) -> float:
        """One refresh, its outcome published; returns the delay until the next one."""
        runner.state = "running"
        await self._publish({})
        started = self._clock.monotonic()
        part: Part | None = None
        watcher = asyncio.create_task(self._watch(runner))
        try:
            result = await self._until_done(runner, self._in_thread(self._execute, runner))
            watcher.cancel()
            data, part = await self._in_thread(_build, runner.collector, result)
        except WarehouseError as error:
            self._failed(runner, error)
        except Exception as error:  # a bug must not kill the collector's task
            log.error("refresh crashed", collector=runner.name, exc_info=True)
            self._failed(runner, ResultError(f"{type(error).__name__}: {error}"))
        else:
            self._succeeded(runner, data)
        finally:
            watcher.cancel()
        runner.duration = self._clock.monotonic() - started
        runner.last_attempt = self._clock.wall()
        runner.state = "idle"
        delay = self._next_delay(runner)
        if runner.last_kind not in TRANSIENT:
            delay = _on_cadence(delay, runner.duration)
        runner.next_due = runner.last_attempt + delay
        updates: dict[str, Part | None] = {}
        if part is not None:
            updates[runner.name] = part
        elif runner.unreadable and runner.serving:
            runner.serving, runner.series = False, 0
            updates[runner.name] = None
        await self._publish(updates)  # one publish per outcome, whatever it was
        runner.first_done = True  # only now is the outcome visible on /metrics
        return delay

    async def _until_done(self, runner: _Runner, work: Awaitable[T]) -> T:
        """Await `work`; should the runner's series outlive max age meanwhile, withdraw them."""
        task = asyncio.ensure_future(work)
        try:
            while (until := self._until_stale(runner)) is not None:
                if until <= 0:
                    await self._withdraw(runner)
                    continue
                expiry = asyncio.ensure_future(self._clock.sleep(until))
                try:
                    await asyncio.wait((task, expiry), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    expiry.cancel()
                if task.done():
                    break
            return await task
        finally:
            task.cancel()

    async def _watch(self, runner: _Runner) -> None:
        """Show `pending` while the statement waits for the warehouse (e.g. a cold start)."""
        if self._in_flight() is None:
            return
        while True:
            await asyncio.sleep(WATCH_EVERY)
            calls = self._in_flight() or ()
            states = {c.state for c in calls if c.tags.get("collector") == runner.name}
            state = "pending" if "PENDING" in states else "running"
            if state != runner.state:
                runner.state = state
                await self._publish({})

    def _in_flight(self) -> Sequence[InFlightView] | None:
        """The statements the warehouse client runs now; None if it cannot tell."""
        in_flight: Callable[[], Sequence[InFlightView]] | None = getattr(
            self._warehouse, "in_flight", None
        )
        return in_flight() if callable(in_flight) else None

    def _execute(self, runner: _Runner) -> StatementResult:
        statement = runner.collector.statement()
        tags = {"collector": runner.name}
        return self._warehouse.execute(statement, tags=tags)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _succeeded(self, runner: _Runner, data: CollectorData) -> None:
        if runner.reported is not None:
            log.info("refresh recovered", collector=runner.name, after=runner.reported)
            runner.reported = None
        self._contact_restored()
        runner.statements["success"] += 1
        runner.last_kind, runner.failures, runner.detail = "success", 0, ""
        runner.unreadable = False
        runner.last_success = self._clock.wall()
        runner.fresh_until = self._clock.monotonic() + runner.settings.max_age
        runner.as_of, runner.series = data.as_of, data.series
        runner.withheld = len(data.rejected)
        runner.folded = data.folded
        runner.serving, runner.stale = True, False
        self._up = True
        for table in runner.collector.tables:
            self._tables[table] = True

    def _failed(self, runner: _Runner, error: WarehouseError) -> None:
        kind = error.kind
        runner.statements[kind] += 1
        runner.failures += 1
        runner.detail = str(error)[:300]
        runner.last_kind = kind
        runner.retry_after = error.retry_after or 0.0 if isinstance(error, ThrottledError) else 0.0
        outage = _is_outage(error)
        self._up = kind in CONTACT_OK and not outage
        if outage:
            self._contact_lost(runner, error)
        else:
            self._contact_restored()
            if kind != runner.reported:
                runner.reported = kind
                self._log_failure(runner, error)
        unreadable = _unreadable(error, runner.collector.tables)
        runner.unreadable = unreadable is not None
        for table in unreadable or ():
            self._tables[table] = False

    def _contact_lost(self, runner: _Runner, error: WarehouseError) -> None:
        if error.kind != self._outage:
            self._outage = error.kind
            log.error(
                "workspace failing; collectors keep their last data and retry with backoff",
                kind=error.kind,
                collector=runner.name,
                err=str(error),
            )

    def _contact_restored(self) -> None:
        if self._outage is not None:
            log.info("workspace contact restored", after=self._outage)
            self._outage = None

    def _log_failure(self, runner: _Runner, error: WarehouseError) -> None:
        if isinstance(error, TableNotFoundError | InsufficientPermissionsError):
            table = error.table or ", ".join(runner.collector.tables)
            log.warning(
                "table not readable; its collector's metrics are absent until it is",
                collector=runner.name,
                table=table,
                fix=_grant_hint(table, self._client_id()),
                retry_every=runner.settings.interval * self._settings.table_probe_every,
            )
            return
        log.error("refresh failed", collector=runner.name, kind=error.kind, err=str(error))

    def _client_id(self) -> str:
        workspace = self._settings.workspace
        return workspace.client_id if workspace else "<service-principal-application-id>"

    def _next_delay(self, runner: _Runner) -> float:
        interval = runner.settings.interval
        if runner.last_kind in TRANSIENT:
            backoff = min(interval, BACKOFF_START * 2.0 ** (runner.failures - 1))
            delay = min(backoff * self._rng.uniform(0.8, 1.2), interval)
            return max(delay, runner.retry_after)
        if runner.unreadable:
            return interval * self._settings.table_probe_every
        return interval

    # ----- publishing ------------------------------------------------------------------

    async def _publish(self, parts: Mapping[str, Part | None]) -> None:
        """Publish `parts` with self-metrics rendered from the state at publishing time."""
        async with self._publish_lock:
            views = [self._view(runner) for runner in self._runners]
            updates: dict[str, Part | None] = dict(parts)
            updates[HEALTH_PART] = Part.render(health_families(self._up))
            updates[EXPORTER_PART] = Part.render(
                exporter_families(views, self._tables, self._paused)
            )
            await self._exposition.publish(updates)

    def _view(self, runner: _Runner) -> CollectorView:
        ok = None if runner.last_kind == "pending" else runner.last_kind == "success"
        return CollectorView(
            name=runner.name,
            last_ok=ok,
            last_success=runner.last_success,
            last_attempt=runner.last_attempt,
            duration=runner.duration,
            as_of=runner.as_of if runner.serving else None,
            stale=runner.stale,
            series=runner.series,
            state=runner.state,
            withheld=runner.withheld,
            statements=dict(runner.statements),
            folded=runner.folded,
        )


def _is_outage(error: WarehouseError) -> bool:
    """A failure of the workspace as a whole, which every collector meets alike.

    Logged once for the exporter when it begins, changes kind or ends, and `databricks_up` is 0.
    Other failures (a missing table, a timeout, a bad result) are the collector's own, logged
    once per collector and change of kind.
    """
    return error.kind in TRANSIENT or isinstance(error, WarehouseAccessError)


def _unreadable(error: WarehouseError, tables: tuple[str, ...]) -> tuple[str, ...] | None:
    """The tables (of `tables`, when unnamed) a failure says are not readable, or None."""
    if isinstance(error, WarehouseAccessError):
        return None
    if isinstance(error, TableNotFoundError | InsufficientPermissionsError):
        return (error.table,) if error.table else tables
    return None


def _on_cadence(delay: float, duration: float) -> float:
    """Time to the next tick of a grid of `delay` laid from the start of a refresh.

    A slow statement does not push every later refresh back, and one that overran its
    interval is followed at the next tick, not at once, so a slow warehouse is not kept busy
    back to back. (Backoff and Retry-After count from the failure, as servers mean them.)
    """
    if delay <= 0:
        return 0.0
    return math.ceil(max(duration, 1e-9) / delay) * delay - duration


def _build(collector: Collector, result: StatementResult) -> tuple[CollectorData, Part]:
    data = collector.build(result)
    return data, Part.render(data.families)


def _grant_hint(table: str, principal: str) -> str:
    schema = ".".join(table.split(".")[:2])
    return (
        f"GRANT USE CATALOG ON CATALOG system TO `{principal}`; "
        f"GRANT USE SCHEMA ON SCHEMA {schema} TO `{principal}`; "
        f"GRANT SELECT ON TABLE {table} TO `{principal}`"
    )
