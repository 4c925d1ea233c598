"""Large bodies go out in slices: complete for every client, bounded in memory for slow ones."""

from __future__ import annotations

import gzip
import socket
import threading

from aiohttp.web_protocol import RequestHandler

from databricks_exporter.exposition import Part, compose
from databricks_exporter.web.handlers import STREAM_ABOVE, STREAM_SLICE

from .conftest import FakeState, Pki, Running, Serve, tls_config, wait_until

#: Above the streaming threshold, with lines like real samples.
LINES = STREAM_ABOVE // 40 * 3
TEXT = b"".join(b'demo_big{series="%08d"} %d.5\n' % (n, n) for n in range(LINES))
#: The most a stalled connection may hold in its write buffer: one slice plus asyncio's
#: high-water mark (64 KiB) and the headers.
BUFFER_BOUND = STREAM_SLICE + 80 * 1024


def big_state() -> FakeState:
    return FakeState(compose([Part(TEXT, TEXT, series=LINES)]))


def test_large_body_complete(serve: Serve) -> None:
    running = serve(state=big_state())
    assert len(TEXT) > 3 * STREAM_ABOVE // 2
    reply = running.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Length"] == str(len(TEXT))
    assert reply.headers["Vary"] == "Accept, Accept-Encoding"
    assert reply.body == TEXT
    assert running.state.scrapes == 1


def test_large_body_gzip_and_head(serve: Serve) -> None:
    running = serve(state=big_state())
    reply = running.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert reply.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(reply.body) == TEXT
    head = running.get("/metrics", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(TEXT))


def test_large_body_over_tls(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki), state=big_state())
    reply = running.get("/metrics", context=pki.client_context())
    assert reply.body == TEXT


def _write_buffered(running: Running) -> int:
    """The most bytes waiting in the write buffer of any of the server's connections."""
    connections = running.server.connections
    assert connections is not None
    handlers = [guard.handler for guard in list(connections.live)]
    transports = [h.transport for h in handlers if isinstance(h, RequestHandler)]
    return max((t.get_write_buffer_size() for t in transports if t is not None), default=0)


def test_stalled_reader_holds_one_slice(serve: Serve) -> None:
    running = serve(state=big_state())
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    try:
        stalled.connect(("127.0.0.1", running.port))
        stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
        wait_until(lambda: _write_buffered(running) > 0, what="the server to wait for the client")
        assert _write_buffered(running) <= BUFFER_BOUND
        others: list[bytes] = []
        reader = threading.Thread(target=lambda: others.append(running.get("/metrics").body))
        reader.start()
        reader.join(30)
        assert others == [TEXT]  # a stalled client does not hold up the others
    finally:
        stalled.close()
