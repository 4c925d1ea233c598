"""The simulated Databricks workspace as an object: start it, point a client at `url`, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from typing import Any

import duckdb
from aiohttp import web

from databricks_exporter.logs import get_logger
from databricks_exporter.sim import admin, server
from databricks_exporter.sim.auth import Credentials, TokenIssuer
from databricks_exporter.sim.clock import SimClock
from databricks_exporter.sim.context import CONTEXT, Context
from databricks_exporter.sim.data import catalog
from databricks_exporter.sim.database import SCALES, open_database
from databricks_exporter.sim.engine import Engine
from databricks_exporter.sim.faults import Faults, FaultSpec
from databricks_exporter.sim.generator import GenerationStats
from databricks_exporter.sim.history import Identity
from databricks_exporter.sim.runner import Runner, RunnerConfig
from databricks_exporter.sim.statements import Statement, StatementStore
from databricks_exporter.sim.stats import Stats

log = get_logger("sim.workspace")

DEFAULT_CLIENT_ID = "databricks-sim-client"
DEFAULT_CLIENT_SECRET = "dosesim-not-a-real-secret"  # noqa: S105 - the simulator's own fake secret
DEFAULT_WAREHOUSE_ID = catalog.DEFAULT_WAREHOUSE_ID
DEFAULT_WORKSPACE_ID = catalog.DEFAULT_WORKSPACE_ID
DEFAULT_ACCOUNT_ID = catalog.ACCOUNT_ID
DEFAULT_CHUNK_BYTES = 1024 * 1024
_PURGE_AFTER = 12 * 3600.0
_SWEEP_SECONDS = 30.0


def is_loopback(host: str) -> bool:
    """Whether `host` names a loopback interface only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SimulatedWorkspace:
    """OIDC + Statement Execution API over DuckDB, on an aiohttp server of its own."""

    def __init__(
        self,
        *,
        seed: int = 1,
        scale: str = "small",
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        warehouse_id: str = DEFAULT_WAREHOUSE_ID,
        workspace_id: str = DEFAULT_WORKSPACE_ID,
        token_ttl: float = 3600.0,
        now: dt.datetime | None = None,
        faults: FaultSpec | Mapping[str, Any] | None = None,
        database: str | os.PathLike[str] | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        size_factor: float = 1.0,
        result_ttl: float = 3600.0,
        workers: int = 8,
        allow_remote: bool = False,
        generate: bool = True,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"refusing to listen on non-loopback {host!r} without allow_remote")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if chunk_bytes < 1 or token_ttl <= 0 or workers < 1:
            raise ValueError("chunk_bytes, token_ttl and workers must be positive")
        self.seed, self.scale, self.size_factor = seed, scale, size_factor
        self.host, self.port = host, port
        self.credentials = Credentials(client_id, client_secret)
        self.warehouse_id, self.workspace_id = warehouse_id, workspace_id
        self.faults = Faults()
        if faults is not None:
            self.faults.set(faults)
        self.generation: GenerationStats | None = None
        self._clock = SimClock(now)
        self._tokens = TokenIssuer(token_ttl)
        self._stats = Stats()
        self._database = os.fspath(database) if database is not None else None
        self._generate = generate
        self._chunk_bytes, self._result_ttl, self._workers = chunk_bytes, result_ttl, workers
        self._con: duckdb.DuckDBPyConnection | None = None
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._engine: Engine | None = None
        self._runner: Runner | None = None
        self._site_runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def client_id(self) -> str:
        """The service principal's OAuth client id."""
        return self.credentials.client_id

    @property
    def client_secret(self) -> str:
        """The service principal's OAuth secret (fake; safe to print)."""
        return self.credentials.client_secret

    @property
    def url(self) -> str:
        """The workspace host URL, e.g. `http://127.0.0.1:43121`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def http_path(self) -> str:
        """The warehouse's HTTP path, as the Databricks UI shows it."""
        return f"/sql/1.0/warehouses/{self.warehouse_id}"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor on the simulated tables, for tests computing expected values."""
        if self._reader is None:
            raise RuntimeError("the workspace is not started")
        return self._reader

    def now(self) -> dt.datetime:
        """The simulator's clock."""
        return self._clock.now()

    def set_now(self, moment: dt.datetime) -> None:
        """Freeze the clock at `moment`."""
        self._clock.set_now(moment)

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward by `seconds`; returns the new time."""
        return self._clock.advance(seconds)

    def stats(self) -> dict[str, Any]:
        """The counters of `GET /admin/stats`."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters, as `POST /admin/reset-stats` does."""
        self._stats.reset()

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as if the secret had been rotated."""
        self._tokens.revoke_all()

    async def start(self) -> None:
        """Generate the data, then listen."""
        con, self.generation = await asyncio.to_thread(
            open_database,
            self._database,
            seed=self.seed,
            scale=self.scale,
            now=self._clock.now(),
            size_factor=self.size_factor,
            generate=self._generate,
        )
        self._con = con
        self._engine = Engine(con, self._workers)
        self._reader = self._engine.cursor()
        context = self._context(self._engine)
        self._site_runner = web.AppRunner(make_app(context), access_log=None, shutdown_timeout=2)
        await self._site_runner.setup()
        site = web.TCPSite(self._site_runner, self.host, self.port)
        await site.start()
        self.port = self._site_runner.addresses[0][1]
        self._sweeper = asyncio.create_task(self._sweep(context.store))
        log.info("simulated workspace listening", url=self.url, warehouse_id=self.warehouse_id)

    def _context(self, engine: Engine) -> Context:
        identity = Identity(DEFAULT_ACCOUNT_ID, self.workspace_id, self.client_id)
        store = StatementStore(self._result_ttl, _PURGE_AFTER, self._on_close)
        self._runner = Runner(
            engine=engine,
            store=store,
            faults=self.faults,
            clock=self._clock,
            stats=self._stats,
            config=RunnerConfig(self._chunk_bytes, identity),
        )
        return Context(
            credentials=self.credentials,
            tokens=self._tokens,
            faults=self.faults,
            runner=self._runner,
            store=store,
            stats=self._stats,
            clock=self._clock,
            warehouse_id=self.warehouse_id,
            workspace_id=self.workspace_id,
        )

    def _on_close(self, statement: Statement) -> None:
        self._stats.count("closed")

    async def _sweep(self, store: StatementStore) -> None:
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            store.sweep()

    async def stop(self) -> None:
        """Cancel running statements, stop listening, release DuckDB."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._runner is not None:
            await self._runner.shutdown()
        if self._site_runner is not None:
            await self._site_runner.cleanup()
        if self._engine is not None:
            await asyncio.to_thread(self._engine.shutdown)
        for con in (self._reader, self._con):
            if con is not None:
                con.close()
        self._reader = self._con = self._engine = self._runner = self._site_runner = None

    async def __aenter__(self) -> SimulatedWorkspace:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def make_app(context: Context) -> web.Application:
    """The aiohttp application: the public API, then the loopback-only admin endpoints."""
    middlewares = [admin.loopback_only, *server.API_MIDDLEWARES]
    app = web.Application(client_max_size=server.MAX_BODY, middlewares=middlewares)
    app[CONTEXT] = context
    server.add_api_routes(app)
    admin.add_admin_routes(app)
    return app
