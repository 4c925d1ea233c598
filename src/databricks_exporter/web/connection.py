"""Every accepted socket passes through a `GuardedConnection` before aiohttp sees it.

The guard caps the number of open connections, runs the TLS handshake with the SSLContext that
is current at accept time (so a reloaded certificate or client CA applies to the next
connection), enforces client_allowed_sans, and drops clients that are too slow: a TLS handshake
longer than `tls_handshake_timeout`, a request head not complete `header_timeout` after the
connection opened or the head's first byte arrived, or a response the client stops reading for
`write_timeout`. Idle keep-alive connections are closed by aiohttp after `keepalive_timeout`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from databricks_exporter.logs import get_logger
from databricks_exporter.web.tls import peer_sans, sans_allowed

log = get_logger("web")


@dataclass(frozen=True)
class Limits:
    """Bounds that keep the front standing under slow or numerous clients."""

    max_connections: int = 512
    tls_handshake_timeout: float = 10.0
    header_timeout: float = 10.0
    write_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 100
    #: How often the web config file and the files it names are checked for changes.
    reload_interval: float = 1.0
    #: How long stop() lets a request in flight finish.
    shutdown_timeout: float = 3.0


@dataclass(frozen=True)
class TlsPolicy:
    """What a new connection is held to: the current context and allowed SANs."""

    context: ssl.SSLContext | None
    allowed_sans: tuple[str, ...] | None = None


class Connections:
    """The protocol factory given to every listener; tracks the live connections."""

    def __init__(
        self,
        limits: Limits,
        make_handler: Callable[[], asyncio.Protocol],
        policy: Callable[[], TlsPolicy],
    ) -> None:
        self.limits = limits
        self.make_handler = make_handler
        self.policy = policy
        self.live: set[GuardedConnection] = set()
        self._by_handler: dict[asyncio.BaseProtocol, GuardedConnection] = {}
        self.refused = 0

    def __call__(self) -> GuardedConnection:
        return GuardedConnection(self)

    def attach(self, handler: asyncio.Protocol, guard: GuardedConnection) -> None:
        self._by_handler[handler] = guard

    def detach(self, guard: GuardedConnection) -> None:
        self.live.discard(guard)
        if guard.handler is not None:
            self._by_handler.pop(guard.handler, None)

    def request_started(self, handler: asyncio.BaseProtocol | None) -> None:
        """Called by the app for each request: its head is complete."""
        guard = self._by_handler.get(handler) if handler is not None else None
        if guard is not None:
            guard.request_started()

    def request_finished(self, handler: asyncio.BaseProtocol | None) -> None:
        """Called by the app when a request's handler returned."""
        guard = self._by_handler.get(handler) if handler is not None else None
        if guard is not None:
            guard.request_finished()

    def abort_all(self) -> None:
        """Drop every connection still open (used last at shutdown)."""
        for guard in list(self.live):
            guard.abort()


class GuardedConnection(asyncio.Protocol):
    """One client connection: TLS, SAN check and timeouts around an aiohttp handler."""

    def __init__(self, owner: Connections) -> None:
        self._owner = owner
        self._loop = asyncio.get_running_loop()
        self.handler: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._pending: list[bytes] = []
        self._pending_eof = False
        self._busy = False
        self._lost = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._handshake: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        raw = cast(asyncio.Transport, transport)
        self._transport = raw
        owner = self._owner
        if len(owner.live) >= owner.limits.max_connections:
            owner.refused += 1
            if owner.refused == 1 or owner.refused % 100 == 0:
                log.warning(
                    "connection limit reached; refusing connections",
                    refused=owner.refused,
                    limit=owner.limits.max_connections,
                )
            self._lost = True
            raw.abort()
            return
        owner.live.add(self)
        policy = owner.policy()
        if policy.context is None:
            self._activate(raw)
            return
        raw.pause_reading()  # the ClientHello waits in the kernel until start_tls reads it
        self._handshake = self._loop.create_task(self._start_tls(raw, policy.context, policy))

    async def _start_tls(
        self, raw: asyncio.Transport, context: ssl.SSLContext, policy: TlsPolicy
    ) -> None:
        try:
            secure = await self._loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._owner.limits.tls_handshake_timeout,
            )
        except (OSError, asyncio.CancelledError) as error:
            log.debug(
                "TLS handshake failed", peer=_peer(raw), err=f"{type(error).__name__}: {error}"
            )
            self._finish()
            return
        except Exception:  # never leave an unretrieved task error behind
            log.error("TLS handshake broke unexpectedly", exc_info=True, peer=_peer(raw))
            raw.abort()
            self._finish()
            return
        if secure is None or self._lost:
            self._finish()
            return
        if policy.allowed_sans is not None and not self._sans_ok(secure, policy.allowed_sans):
            secure.abort()
            return
        self._activate(secure)

    def _sans_ok(self, secure: asyncio.Transport, allowed: tuple[str, ...]) -> bool:
        peercert = secure.get_extra_info("peercert")
        if sans_allowed(peercert, allowed):
            return True
        log.warning(
            "client certificate has none of client_allowed_sans; connection closed",
            peer=_peer(secure),
            sans=",".join(sorted(peer_sans(peercert))),
        )
        return False

    def _activate(self, transport: asyncio.BaseTransport) -> None:
        """Hand the (now plain or decrypted) connection to aiohttp."""
        self._transport = transport
        self.handler = self._owner.make_handler()
        self._owner.attach(self.handler, self)
        self.handler.connection_made(transport)
        self._arm_head_timer()
        pending, self._pending = self._pending, []
        for data in pending:
            self.handler.data_received(data)
        if self._pending_eof:
            self.handler.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._cancel_timers()
        if self.handler is not None:
            self.handler.connection_lost(exc)
        self._finish()

    def _finish(self) -> None:
        self._lost = True
        self._cancel_timers()
        self._owner.detach(self)

    def abort(self) -> None:
        """Drop the connection now."""
        if self._handshake is not None and not self._handshake.done():
            self._handshake.cancel()
        transport = cast(asyncio.Transport | None, self._transport)
        if transport is not None and not transport.is_closing():
            transport.abort()
        self._finish()

    # -- data ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.handler is None:
            self._pending.append(data)
            return
        if not self._busy and self._head_timer is None:
            self._arm_head_timer()
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        if self.handler is None:
            self._pending_eof = True
            return None
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
        self._write_timer = self._loop.call_later(
            self._owner.limits.write_timeout, self._timed_out, "client stopped reading"
        )
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self.handler is not None:
            self.handler.resume_writing()

    # -- request head deadline -------------------------------------------------------------

    def request_started(self) -> None:
        self._busy = True
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def request_finished(self) -> None:
        self._busy = False

    def _arm_head_timer(self) -> None:
        if self._lost:
            return
        self._head_timer = self._loop.call_later(
            self._owner.limits.header_timeout, self._timed_out, "request head too slow"
        )

    def _timed_out(self, why: str) -> None:
        log.debug("dropping slow client", why=why, peer=_peer(self._transport))
        self.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._write_timer = None


def _peer(transport: asyncio.BaseTransport | None) -> str:
    peer: Any = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "?"
