"""Issue 5, item 10: SIGTERM and SIGINT to a real `databricks-exporter` process.

With every collector's first statement still running on the (simulated) warehouse, the signal
makes the process stop listening, cancel those statements on the warehouse (recorded CANCELED,
nothing left running) and exit 0 within a few seconds, long before the statements would have
ended on their own. The secret comes from a file and never reaches the log.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from databricks_exporter.sim import ThreadedWorkspace
from prometheus_fixture import free_port

from .harness import COLLECTORS, by_collector

SLOW = 30.0  # the statements would run this long; cancelling ends them at once
EXIT_WITHIN = 5.0


def wait_for(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f}s waiting for {what}")
        time.sleep(0.02)


def answers(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.ConnectionError:
        return None


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def exporter_command(sim: ThreadedWorkspace, secret_file: Path, port: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("databricks-exporter")),
        f"--server-hostname={sim.url}",
        f"--warehouse-http-path={sim.http_path}",
        f"--client-id={sim.client_id}",
        f"--client-secret-file={secret_file}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--statement-timeout=2m",
        "--log.format=json",
    ]


def log_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_listening_cancels_statements_and_exits_zero(
    sim: ThreadedWorkspace, tmp_path: Path, signum: signal.Signals
) -> None:
    sim.faults.set({"slow_statements": {"seconds": SLOW}})
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(sim.client_secret + "\n", encoding="utf-8")
    port = free_port()
    log = tmp_path / "exporter.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            exporter_command(sim, secret_file, port), stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: sim.stats()["in_flight"] == len(COLLECTORS), 30, "four statements")
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(url + "/-/healthy") == 200, 10, "the exporter to listen")
        assert answers(url + "/-/ready") == 503, "the first refreshes are still running"
        assert answers(url + "/metrics") == 200

        signalled = time.monotonic()
        process.send_signal(signum)
        code = process.wait(timeout=EXIT_WITHIN + 5)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert code == 0
    assert took < EXIT_WITHIN, f"exit took {took:.1f}s"
    assert refused(port)
    wait_for(lambda: sim.stats()["in_flight"] == 0, 5, "the warehouse to finish the cancels")
    stats = sim.stats()
    assert by_collector(stats, "canceled") == dict.fromkeys(COLLECTORS, 1)
    assert stats["statements"]["succeeded"] == 0
    events = log_events(log)
    messages = [event["msg"] for event in events]
    order = ["shutting down", "stopped listening", "cancelling statements in flight"]
    assert [messages.index(message) for message in order] == sorted(
        messages.index(message) for message in order
    )
    [shutting] = [event for event in events if event["msg"] == "shutting down"]
    assert shutting["signal"] == signum.name
    [cancelling] = [e for e in events if e["msg"] == "cancelling statements in flight"]
    assert cancelling["statements"] == len(COLLECTORS)
    assert sim.client_secret not in log.read_text(encoding="utf-8")
