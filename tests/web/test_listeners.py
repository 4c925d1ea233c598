"""Listeners: every --web.listen-address served at once; clear start-up errors otherwise."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from databricks_exporter.settings import ConfigError
from databricks_exporter.web import StartupError

from .conftest import METRICS_TEXT, Response, Serve

FLAG = "--web.listen-address [env DATABRICKS_EXPORTER_WEB_LISTEN_ADDRESS]"


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback here")


@pytest.fixture
def occupied() -> Iterator[int]:
    """A loopback port held by another socket."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def get_on(host: str, port: int) -> Response:
    """GET /metrics from `host`:`port` with a real client."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        reply = connection.getresponse()
        return Response(reply.status, reply.headers, reply.read())
    finally:
        connection.close()


@needs_ipv6
def test_every_address_is_served(serve: Serve) -> None:
    running = serve(listen=("127.0.0.1:0", "[::1]:0"))
    (v4_host, v4_port), (v6_host, v6_port) = running.server.addresses
    assert (v4_host, v6_host) == ("127.0.0.1", "::1")
    assert get_on("127.0.0.1", v4_port).body == METRICS_TEXT
    assert get_on("::1", v6_port).body == METRICS_TEXT


@needs_ipv6
def test_port_alone_means_all_interfaces_on_both_families(serve: Serve) -> None:
    running = serve(listen=(":0",))
    hosts = {host for host, _ in running.server.addresses}
    ports = {port for _, port in running.server.addresses}
    assert hosts == {"0.0.0.0", "::"}
    assert len(ports) == 1
    (port,) = ports
    assert get_on("127.0.0.1", port).status == 200
    assert get_on("::1", port).status == 200


def test_port_in_use_is_a_clear_start_up_error(serve: Serve, occupied: int) -> None:
    with pytest.raises(StartupError) as caught:
        serve(listen=(f"127.0.0.1:{occupied}",))
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value) == (
        f"{FLAG} 127.0.0.1:{occupied}: address already in use (is another exporter running?)"
    )


def test_a_failed_listener_releases_the_ones_already_bound(serve: Serve, occupied: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(StartupError):
        serve(listen=(f"127.0.0.1:{free}", f"127.0.0.1:{occupied}"))
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", free))  # would fail if the first listener were still open


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("192.0.2.1:0", "'192.0.2.1' is not an address of this machine"),
        ("nonexistent.invalid:0", "cannot resolve host 'nonexistent.invalid'"),
    ],
)
def test_bad_address_is_a_clear_start_up_error(serve: Serve, address: str, fragment: str) -> None:
    with pytest.raises(StartupError) as caught:
        serve(listen=(address,))
    assert str(caught.value).startswith(f"{FLAG} {address}: ")
    assert fragment in str(caught.value)


def test_exporter_exits_non_zero_when_the_port_is_taken(occupied: int, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "databricks_exporter",
        "--server-hostname=http://127.0.0.1:9",
        "--warehouse-http-path=/sql/1.0/warehouses/abc",
        "--client-id=id",
        f"--web.listen-address=127.0.0.1:{occupied}",
    ]
    env = {"DATABRICKS_EXPORTER_CLIENT_SECRET": "not-a-real-secret", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "address already in use" in result.stderr
