"""Web front fixtures: a fake exporter state, certificates, and a WebServer in its own thread.

The server runs on its own event loop in a background thread so tests can use blocking, real
clients (http.client over `ssl`, requests, raw sockets) as well as aiohttp.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import bcrypt
import pytest
import trustme

from databricks_exporter.exposition import Part, Rendered, compose
from databricks_exporter.settings import Settings
from databricks_exporter.status import CollectorStatus
from databricks_exporter.web import Limits, WebServer

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
METRICS_TEXT = (
    b"# HELP demo_up Whether the demo works.\n"
    b"# TYPE demo_up gauge\n"
    b"demo_up 1.0\n"
    b"# HELP demo_answer The answer.\n"
    b"# TYPE demo_answer gauge\n"
    b'demo_answer{question="everything"} 42.0\n'
)
METRICS_OPENMETRICS = METRICS_TEXT  # the same samples are valid OpenMetrics without `# EOF`
FAST = Limits(reload_interval=0.05, shutdown_timeout=1.0)


class FakeState:
    """A fixed exposition and collector table; counts scrapes."""

    def __init__(self, rendered: Rendered | None = None) -> None:
        self.current = rendered or compose([Part(METRICS_TEXT, METRICS_OPENMETRICS, series=2)])
        self.is_ready = True
        self.scrapes = 0
        now = time.time()
        self.statuses = [
            CollectorStatus("jobs", True, 300.0, now - 10, "success", now - 10, now + 290, 7),
            CollectorStatus(
                "pipelines", True, 300.0, now - 20, "permission", None, now + 280, 0,
                detail="<script>alert(1)</script> & more",
            ),
            CollectorStatus("billing", False, 3600.0, None, "pending", None, None, 0),
        ]  # fmt: skip

    def rendered(self) -> Rendered:
        return self.current

    def collectors(self) -> list[CollectorStatus]:
        return self.statuses

    def ready(self) -> bool:
        return self.is_ready

    def scraped(self) -> None:
        self.scrapes += 1


@dataclass(frozen=True)
class Pki:
    """Files of a test CA, a server certificate and client certificates."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # a client certificate from a CA the server does not trust
    stranger_key: Path

    def client_context(self, **kwargs: Any) -> ssl.SSLContext:
        """A client context trusting the test CA, optionally presenting a certificate."""
        return client_context(self.ca, **kwargs)


def client_context(
    ca: Path,
    *,
    cert: Path | None = None,
    key: Path | None = None,
    version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A verifying client context, pinned to one TLS version if given."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    if version is not None:
        context.minimum_version = context.maximum_version = version
    return context


def issue(ca: trustme.CA, directory: Path, name: str, *identities: str) -> tuple[Path, Path]:
    """Write a leaf certificate (chain) and its key for `identities`."""
    leaf = ca.issue_cert(*identities)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    leaf.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return cert, key


@pytest.fixture(scope="session")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def pki(tmp_path: Path, authority: trustme.CA) -> Pki:
    ca = tmp_path / "ca.crt"
    authority.cert_pem.write_to_path(str(ca))
    cert, key = issue(authority, tmp_path, "server", "localhost", "127.0.0.1", "::1")
    client_cert, client_key = issue(
        authority, tmp_path, "client", "prometheus.example", "scraper@example.com"
    )
    stranger_cert, stranger_key = issue(trustme.CA(), tmp_path, "stranger", "prometheus.example")
    return Pki(ca, cert, key, client_cert, client_key, stranger_cert, stranger_key)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """A bcrypt hash of PASSWORD at the lowest cost, to keep tests fast."""
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@dataclass
class Running:
    """A started WebServer in its thread."""

    server: WebServer
    state: FakeState
    loop: asyncio.AbstractEventLoop
    config_file: Path | None = None
    scheme: str = "http"
    _clients: list[http.client.HTTPConnection] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.addresses[0][1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def get(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> Response:
        """One request on a fresh connection, with a real client."""
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(host, self.port, timeout=10, context=context)
        else:
            connection = http.client.HTTPConnection(host, self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            reply = connection.getresponse()
            return Response(reply.status, reply.headers, reply.read())
        finally:
            connection.close()


class ServerThread:
    """A background event loop; runs coroutines on it and stops what it started."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._stops: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run `coroutine` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def on_close(self, stop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `stop()` on the loop when the thread closes."""
        self._stops.append(stop)

    def close(self) -> None:
        for stop in reversed(self._stops):
            self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


async def _make(settings: Settings, state: FakeState, limits: Limits) -> WebServer:
    return WebServer(settings, state, version="9.8.7", limits=limits)


Serve = Callable[..., Running]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start a WebServer: serve(config_text=None, listen=("127.0.0.1:0",), limits=FAST)."""
    thread = ServerThread()
    started: list[WebServer] = []

    def start(
        config_text: str | None = None,
        *,
        listen: tuple[str, ...] = ("127.0.0.1:0",),
        limits: Limits = FAST,
        state: FakeState | None = None,
        telemetry_path: str = "/metrics",
    ) -> Running:
        config_file = None
        if config_text is not None:
            config_file = tmp_path / f"web-{len(started)}.yml"
            config_file.write_text(config_text, encoding="utf-8")
        settings = Settings(
            workspace=None,
            listen_addresses=listen,
            web_config_file=config_file,
            telemetry_path=telemetry_path,
        )
        state = state or FakeState()
        server = thread.run(_make(settings, state, limits))
        thread.run(server.start())
        thread.on_close(server.stop)
        started.append(server)
        scheme = "https" if server.config.tls is not None else "http"
        return Running(server, state, thread.loop, config_file, scheme)

    yield start
    thread.close()


def tls_config(pki: Pki, extra: str = "") -> str:
    """A web config serving TLS with the test server certificate, plus `extra` TLS keys."""
    lines = [
        "tls_server_config:",
        f"  cert_file: {pki.cert}",
        f"  key_file: {pki.key}",
        *(f"  {line.strip()}" for line in extra.splitlines() if line.strip()),
    ]
    return "\n".join(lines) + "\n"


def wait_until(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `check` until true, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def limits(**changes: Any) -> Limits:
    """FAST limits with some changed."""
    return replace(FAST, **changes)
