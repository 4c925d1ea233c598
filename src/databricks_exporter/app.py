"""Wiring: warehouse client, collectors, scheduler and web front; signals and shutdown."""

from __future__ import annotations

import asyncio
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack

from databricks_exporter import __version__
from databricks_exporter.clock import Clock, SystemClock
from databricks_exporter.collectors import build_collectors
from databricks_exporter.exposition import Exposition
from databricks_exporter.logs import get_logger
from databricks_exporter.scheduler import Scheduler, Warehouse
from databricks_exporter.settings import ConfigError, Settings
from databricks_exporter.warehouse.client import WarehouseClient
from databricks_exporter.web import WebServer

log = get_logger("main")
#: How long shutdown waits for statements in flight to be cancelled.
SHUTDOWN_GRACE = 5.0
#: How long a thread may hold the GIL before another is let in (Python's default is 5 ms).
GIL_SWITCH_INTERVAL = 0.001


class Exporter:
    """The running exporter: start it, stop it; nothing runs at import or construction."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        warehouse: Warehouse | None = None,
    ) -> None:
        if settings.workspace is None:
            raise ConfigError("no workspace configured")
        self.settings = settings
        collectors = build_collectors(settings)
        self._executor = ThreadPoolExecutor(
            max_workers=len(collectors) + 2, thread_name_prefix="warehouse"
        )
        self.warehouse = warehouse or WarehouseClient(
            settings.workspace, statement_timeout=settings.statement_timeout
        )
        self.exposition = Exposition()
        self.scheduler = Scheduler(
            settings,
            collectors,
            self.warehouse,
            self.exposition,
            clock=clock or SystemClock(),
            executor=self._executor,
        )
        self.web = WebServer(settings, self.scheduler, version=__version__)

    async def start(self) -> None:
        """Bind the listeners first (fail fast), then start refreshing."""
        await self.web.start()
        await self.scheduler.start()
        log.info(
            "exporter started",
            version=__version__,
            listen=",".join(self.settings.listen_addresses),
            collectors=",".join(c.name for c in self.settings.enabled_collectors),
        )

    async def stop(self) -> None:
        """Stop listening, cancel statements in flight, release threads."""
        await self.web.stop()
        log.info("stopped listening")
        try:
            await asyncio.wait_for(self.scheduler.stop(), SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("statements still in flight at shutdown", grace=SHUTDOWN_GRACE)
        self._executor.shutdown(wait=False, cancel_futures=True)
        close = getattr(self.warehouse, "close", None)
        if callable(close):
            close()


async def _wait_for_signal() -> str:
    loop = asyncio.get_running_loop()
    received: asyncio.Future[str] = loop.create_future()

    def note(signum: signal.Signals) -> None:
        if not received.done():
            received.set_result(signum.name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, note, signum)
    return await received  # handlers stay: a second signal during shutdown is ignored


def tune_runtime() -> None:
    """Let the event loop in sooner while a worker thread renders a large snapshot.

    Rendering holds the GIL; at the default 5 ms hand-over a scrape that arrives during a
    refresh of 10,000 series waited up to ~90 ms (p99), at 1 ms ~40 ms (bench/RESULTS.md).
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


async def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    async with AsyncExitStack() as stack:
        if settings.demo:
            from databricks_exporter.demo import start_demo  # noqa: PLC0415

            settings = await start_demo(settings, stack)
        exporter = Exporter(settings)
        try:
            await exporter.start()
        except ConfigError as error:
            log.error("start-up failed", err=str(error))
            await exporter.stop()
            return 1
        name = await _wait_for_signal()
        log.info("shutting down", signal=name)
        await exporter.stop()
    return 0


def run(settings: Settings) -> int:
    """Entry point once settings are valid."""
    tune_runtime()
    return asyncio.run(serve(settings))
