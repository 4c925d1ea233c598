"""A simulated workspace on its own event loop in a background thread, for synchronous callers."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import duckdb

from databricks_exporter.sim.faults import Faults
from databricks_exporter.sim.generator import GenerationStats
from databricks_exporter.sim.workspace import SimulatedWorkspace

_START_TIMEOUT = 120.0


class ThreadedWorkspace:
    """`with ThreadedWorkspace(seed=1) as ws: ... ws.url ...` (same keyword arguments)."""

    def __init__(self, **kwargs: Any) -> None:
        self.workspace = SimulatedWorkspace(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start the loop thread and wait until the workspace listens."""
        self._thread = threading.Thread(target=self._serve, name="databricks-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise TimeoutError("the simulated workspace did not start in time")
        if self._error is not None:
            raise RuntimeError("the simulated workspace failed to start") from self._error

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.workspace.start())
        except BaseException as error:  # handed to the starting thread
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.workspace.stop())
            loop.close()

    def stop(self) -> None:
        """Stop the workspace and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()

    def __enter__(self) -> ThreadedWorkspace:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The workspace host URL."""
        return self.workspace.url

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self.workspace.port

    @property
    def http_path(self) -> str:
        """The warehouse's HTTP path."""
        return self.workspace.http_path

    @property
    def client_id(self) -> str:
        """The OAuth client id to use."""
        return self.workspace.client_id

    @property
    def client_secret(self) -> str:
        """The OAuth secret to use."""
        return self.workspace.client_secret

    @property
    def warehouse_id(self) -> str:
        """The one warehouse's id."""
        return self.workspace.warehouse_id

    @property
    def workspace_id(self) -> str:
        """The workspace id (host metadata and query history)."""
        return self.workspace.workspace_id

    @property
    def faults(self) -> Faults:
        """Switch faults at run time (thread-safe)."""
        return self.workspace.faults

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor on the simulated tables."""
        return self.workspace.connection

    @property
    def generation(self) -> GenerationStats | None:
        """What the data generator reported."""
        return self.workspace.generation

    def now(self) -> dt.datetime:
        """The simulator's clock."""
        return self.workspace.now()

    def set_now(self, moment: dt.datetime) -> None:
        """Freeze the clock at `moment`."""
        self.workspace.set_now(moment)

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward."""
        return self.workspace.advance(seconds)

    def stats(self) -> dict[str, Any]:
        """The counters of `GET /admin/stats`."""
        return self.workspace.stats()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self.workspace.reset_stats()
