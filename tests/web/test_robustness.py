"""A front that does not fall over: big headers, slow clients, many connections, real sockets."""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import ssl
import threading
import time
from contextlib import ExitStack, closing

import aiohttp
import pytest

from databricks_exporter.exposition import Part, compose

from .conftest import (
    PASSWORD,
    FakeState,
    Pki,
    Running,
    Serve,
    basic,
    limits,
    tls_config,
    wait_until,
)


def raw_request(port: int, payload: bytes, timeout: float = 5) -> bytes:
    """Send bytes on a fresh connection and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in chunks[0]:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Block until the server closes `sock`; returns how long it took (fails past `seconds`)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open longer than {seconds}s")
    return time.monotonic() - start


def test_oversized_header_is_refused_and_others_are_served(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    running = serve()
    huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    assert raw_request(running.port, huge).split(b" ")[1] == b"400"
    assert running.get("/metrics").status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], (
        "client junk is not an error"
    )


def test_too_many_headers_are_refused(serve: Serve) -> None:
    running = serve()
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    reply = raw_request(running.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert reply.split(b" ")[1] in (b"400", b"431")
    assert running.get("/metrics").status == 200


def test_garbage_gets_400_without_harm(serve: Serve) -> None:
    running = serve()
    assert raw_request(running.port, b"\x00\x01\x02 nonsense\r\n\r\n").split(b" ")[1] == b"400"
    assert running.get("/-/healthy").status == 200


def slowloris(port: int, stop_after: float) -> float:
    """Trickle a request head one byte every 50 ms; returns when the server hung up."""
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 10_000
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.05)  # the pacing of the trickle, and the check for a hang-up
        for byte in head:
            if time.monotonic() - start > stop_after:
                pytest.fail("slow client was not dropped")
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
    return time.monotonic() - start


def test_slowloris_is_dropped_and_does_not_block_others(serve: Serve) -> None:
    running = serve(limits=limits(header_timeout=0.5))
    took: list[float] = []
    attacker = threading.Thread(target=lambda: took.append(slowloris(running.port, 5)))
    attacker.start()
    try:
        for _ in range(5):
            started = time.monotonic()
            assert running.get("/metrics").status == 200
            assert time.monotonic() - started < 1
    finally:
        attacker.join(timeout=10)
    assert took
    assert 0.4 < took[0] < 3


def test_header_deadline_does_not_limit_keep_alive(serve: Serve) -> None:
    running = serve(limits=limits(header_timeout=0.2))
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/-/healthy")
            assert connection.getresponse().read() == b"Healthy\n"
            time.sleep(0.3)  # idle longer than the head deadline, on purpose
        assert live(running) == 1, "one connection carried every request"
    finally:
        connection.close()


def test_silent_connection_is_dropped(serve: Serve) -> None:
    running = serve(limits=limits(header_timeout=0.3))
    with socket.create_connection(("127.0.0.1", running.port)) as sock:
        assert closed_within(sock, 3) >= 0.25


def test_stalled_tls_handshake_is_dropped(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki), limits=limits(tls_handshake_timeout=0.3))
    with socket.create_connection(("127.0.0.1", running.port)) as sock:
        assert (
            running.get("/-/healthy", context=pki.client_context(), host="localhost").status == 200
        )
        assert closed_within(sock, 3) >= 0.25
    wait_until(lambda: live(running) == 0, what="the stalled connection to be forgotten")


def live(running: Running) -> int:
    connections = running.server.connections
    return len(connections.live) if connections is not None else 0


def test_connection_cap(serve: Serve) -> None:
    running = serve(limits=limits(max_connections=4, header_timeout=30))
    with ExitStack() as stack:
        idle = [
            stack.enter_context(socket.create_connection(("127.0.0.1", running.port)))
            for _ in range(4)
        ]
        wait_until(lambda: live(running) == 4, what="four idle connections")
        with socket.create_connection(("127.0.0.1", running.port)) as refused:
            closed_within(refused, 3)
        assert running.server.connections is not None
        assert running.server.connections.refused >= 1
        idle[0].close()
        wait_until(lambda: live(running) == 3, what="a free slot")
        assert running.get("/metrics").status == 200


def test_slow_reader_is_dropped_and_others_are_served(serve: Serve) -> None:
    big = b"".join(b'big_metric{i="%d"} %d\n' % (i, i) for i in range(400_000))  # ~10 MB
    state = FakeState(compose([Part(big, big)]))
    running = serve(state=state, limits=limits(write_timeout=0.3))
    with socket.socket() as reader:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", running.port))
        reader.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: live(running) == 1, what="the reader's connection")
        assert running.get("/-/healthy").status == 200
        wait_until(lambda: live(running) == 0, timeout=5, what="the stalled reader to be dropped")


@pytest.fixture
def tls_guarded(serve: Serve, pki: Pki, password_hash: str) -> Running:
    return serve(tls_config(pki) + f"basic_auth_users:\n  alice: '{password_hash}'\n")


async def hammer(url: str, context: ssl.SSLContext, count: int) -> list[int]:
    """`count` concurrent requests, each on its own TLS connection."""
    connector = aiohttp.TCPConnector(limit=0, ssl=context, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> int:
            async with session.get(url, headers=basic("alice", PASSWORD)) as reply:
                await reply.read()
                return reply.status

        return list(await asyncio.gather(*(one() for _ in range(count))))


def test_hundreds_of_concurrent_tls_connections(tls_guarded: Running, pki: Pki) -> None:
    url = f"https://localhost:{tls_guarded.port}/metrics"
    statuses = asyncio.run(hammer(url, pki.client_context(), 300))
    assert statuses == [200] * 300
    assert tls_guarded.server.auth.bcrypt_runs == 1
    assert (
        tls_guarded.get("/-/healthy", context=pki.client_context(), host="localhost").status == 200
    )


def test_stop_closes_idle_and_half_open_connections_promptly(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki), limits=limits(tls_handshake_timeout=30, header_timeout=30))
    with ExitStack() as stack:
        stack.enter_context(closing(socket.create_connection(("127.0.0.1", running.port))))
        keepalive = pki.client_context().wrap_socket(
            socket.create_connection(("127.0.0.1", running.port)), server_hostname="localhost"
        )
        stack.enter_context(keepalive)
        keepalive.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        assert keepalive.recv(65536).startswith(b"HTTP/1.1 200")
        wait_until(lambda: live(running) == 2, what="two open connections")
        started = time.monotonic()
        running.call(running.server.stop())
        assert time.monotonic() - started < 2
        assert live(running) == 0
