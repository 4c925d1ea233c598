"""The exporter in demo mode as a subprocess on a loopback port, for the operations tests.

Prometheus comes from the shared tests/prometheus_fixture.py; every wait polls with a deadline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from prometheus_fixture import NotYet, PrometheusServer, free_port, poll

REPO = Path(__file__).resolve().parents[2]
COLLECTORS = ("billing", "jobs", "pipelines", "queries")
SCRAPE_JOB = "databricks"  # the job name the alert rules select on


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Exporter:
    """A running `databricks-exporter --demo`."""

    address: str  # host:port
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def metrics(self) -> str:
        """The current exposition text."""
        response = requests.get(f"{self.url}/metrics", timeout=5)
        response.raise_for_status()
        return response.text


def _console_script(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"console script {name!r} is not installed (pip install -e .)")
    return found


def _all_collectors_attempted(exporter: Exporter, process: subprocess.Popen[bytes]) -> str:
    if process.poll() is not None:
        raise RuntimeError(f"exporter exited with {process.returncode}:\n{_tail(exporter.log)}")
    text = exporter.metrics()
    missing = [
        name
        for name in COLLECTORS
        if f'databricks_exporter_collector_last_attempt_timestamp_seconds{{collector="{name}"}}'
        not in text
    ]
    if missing:
        raise NotYet(f"collectors without a finished refresh: {', '.join(missing)}")
    return text


@contextmanager
def running_exporter(workdir: Path, timeout: float = 60) -> Iterator[Exporter]:
    """Start the exporter on the simulated workspace; yield once every collector has refreshed."""
    address = f"127.0.0.1:{free_port()}"
    log = workdir / "exporter.log"
    command = [_console_script("databricks-exporter"), "--demo", f"--web.listen-address={address}"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=workdir)
    exporter = Exporter(address, log)
    try:
        poll(
            lambda: _all_collectors_attempted(exporter, process),
            timeout,
            "the exporter's first refresh of every collector",
        )
        yield exporter
    finally:
        _stop(process)


def rules(server: PrometheusServer) -> list[dict[str, Any]]:
    """Every loaded rule with its health, from /api/v1/rules."""
    body = requests.get(f"{server.url}/api/v1/rules", timeout=10).json()
    return [rule for group in body["data"]["groups"] for rule in group["rules"]]
