"""`WebServer`: binds every `--web.listen-address`, serves the front, reloads the web config."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from databricks_exporter.logs import get_logger
from databricks_exporter.settings import Settings, parse_listen_address
from databricks_exporter.status import ExporterState
from databricks_exporter.web.auth import BasicAuth
from databricks_exporter.web.config import WebConfig, load_web_config
from databricks_exporter.web.connection import Connections, Limits, TlsPolicy
from databricks_exporter.web.errors import CONFIG_FLAG, LISTEN_FLAG, StartupError, WebConfigError
from databricks_exporter.web.handlers import Front
from databricks_exporter.web.reload import ConfigWatcher

log = get_logger("web")
BACKLOG = 1024
_NO_IPV6 = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


class _ProtocolLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's protocol logger, with malformed requests (the client's fault) at debug.

    aiohttp logs a bad request line or an oversized header as an error with a traceback; a
    stream of junk would flood the log.
    """

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("exc_info"), HttpProcessingError):
            level = min(level, logging.DEBUG)
        super().log(level, msg, *args, **kwargs)


def _bind_error(address: str, host: str, error: OSError) -> StartupError:
    """A one-line start-up error for a listener that cannot bind."""
    if isinstance(error, socket.gaierror):
        problem = f"cannot resolve host {host!r} ({error.strerror})"
    elif error.errno == errno.EADDRINUSE:
        problem = "address already in use (is another exporter running?)"
    elif error.errno == errno.EADDRNOTAVAIL:
        problem = f"{host!r} is not an address of this machine"
    elif error.errno == errno.EACCES:
        problem = "permission denied (ports below 1024 need privileges)"
    else:
        problem = f"cannot listen: {error.strerror or error}"
    return StartupError(f"{LISTEN_FLAG} {address}: {problem}")


class WebServer:
    """The HTTP(S) front of the exporter; `start()` binds, `stop()` closes everything."""

    def __init__(
        self,
        settings: Settings,
        state: ExporterState,
        *,
        version: str,
        limits: Limits | None = None,
    ) -> None:
        self._settings = settings
        self.limits = limits or Limits()
        self._front = Front(state, version=version, telemetry_path=settings.telemetry_path)
        self._policy = TlsPolicy(None)
        self._runner: web.AppRunner | None = None
        self._connections: Connections | None = None
        self._servers: list[asyncio.Server] = []
        self.watcher: ConfigWatcher | None = None
        self._watch_task: asyncio.Task[None] | None = None

    @property
    def config(self) -> WebConfig:
        """The web config in force."""
        return self._front.config

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every bound (host, port), with port 0 resolved to the real port."""
        return [
            (str(name[0]), int(name[1]))
            for server in self._servers
            for name in (sock.getsockname() for sock in server.sockets)
        ]

    @property
    def auth(self) -> BasicAuth:
        """The basic-auth verifier (its `bcrypt_runs` shows the cache at work)."""
        return self._front.auth

    @property
    def connections(self) -> Connections | None:
        """The live connections (for tests and diagnostics)."""
        return self._connections

    def _use(self, config: WebConfig) -> None:
        self._front.use(config)
        sans = config.tls.client_allowed_sans if config.tls is not None else None
        self._policy = TlsPolicy(config.ssl_context, sans)

    def _load_config(self) -> WebConfig:
        path = self._settings.web_config_file
        if path is None:
            return WebConfig()
        try:
            config = load_web_config(path)
        except WebConfigError as error:
            raise error.within(f"{CONFIG_FLAG} {path}") from None
        log.info(
            "web config loaded",
            file=str(path),
            tls=config.tls is not None,
            client_auth=config.tls.client_auth_type if config.tls is not None else "-",
            basic_auth_users=len(config.users),
        )
        return config

    async def start(self) -> None:
        """Load the web config and bind every listen address; raises StartupError."""
        config = self._load_config()
        self._use(config)
        limits = self.limits
        runner = web.AppRunner(
            self._front.application(),
            handle_signals=False,
            access_log=None,
            logger=_ProtocolLog(logging.getLogger("aiohttp.server")),
            keepalive_timeout=limits.keepalive_timeout,
            max_line_size=limits.max_line_size,
            max_field_size=limits.max_field_size,
            max_headers=limits.max_headers,
            shutdown_timeout=limits.shutdown_timeout,
        )
        await runner.setup()
        self._runner = runner
        if runner.server is None:  # setup() always sets it; keeps mypy honest
            raise StartupError("the HTTP server could not be set up")
        self._connections = Connections(limits, runner.server, lambda: self._policy)
        self._front.connections = self._connections
        try:
            for address in self._settings.listen_addresses:
                await self._bind(address)
        except StartupError:
            await self.stop()
            raise
        self._watch(config)

    async def _bind(self, address: str) -> None:
        host, port = parse_listen_address(address)
        if host:
            await self._listen(address, host, port)
            return
        bound = await self._listen(address, "0.0.0.0", port)  # noqa: S104  (`:port` means all)
        try:
            await self._listen_ipv6(address, bound, retry_any=port == 0)
        except StartupError as error:
            cause = error.__cause__
            if not (isinstance(cause, OSError) and cause.errno in _NO_IPV6):
                raise
            log.info("IPv6 is not available; listening on IPv4 only", address=address)

    async def _listen_ipv6(self, address: str, port: int, *, retry_any: bool) -> None:
        """The IPv6 twin of a wildcard listener, on the same port when it is free."""
        try:
            await self._listen(address, "::", port)
        except StartupError as error:
            cause = error.__cause__
            if not (retry_any and isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE):
                raise
            await self._listen(address, "::", 0)

    async def _listen(self, address: str, host: str, port: int) -> int:
        """Bind one host and port; returns the port actually bound."""
        if self._connections is None:
            raise StartupError("start() sets up connections before binding")
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                self._connections, host, port, backlog=BACKLOG, reuse_address=True
            )
        except OSError as error:
            raise _bind_error(address, host, error) from error
        self._servers.append(server)
        bound = 0
        for sock in server.sockets:
            name = sock.getsockname()
            bound = int(name[1])
            log.info(
                "listening", address=f"{name[0]}:{name[1]}", tls=self._policy.context is not None
            )
        return bound

    def _watch(self, config: WebConfig) -> None:
        if config.path is None:
            return
        self.watcher = ConfigWatcher(config, self._use, self.limits.reload_interval)
        self._watch_task = asyncio.get_running_loop().create_task(self.watcher.run())

    async def stop(self) -> None:
        """Stop listening and close every connection; safe to call more than once."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._connections is not None:
            self._connections.abort_all()
        for server in servers:
            await server.wait_closed()
