"""Live processes for the operations tests: the exporter in demo mode and a real Prometheus.

Both run as subprocesses on loopback ports; every wait polls with a deadline.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
COLLECTORS = ("billing", "jobs", "pipelines", "queries")
SCRAPE_JOB = "databricks"  # the job name the alert rules select on


class NotYet(Exception):
    """Raised by a polled check that has not come true yet."""


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Call `check` until it returns without raising NotYet, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            return check()
        except (NotYet, requests.ConnectionError) as error:
            last = str(error)
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}: {last}")
        time.sleep(every)


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
        wait_for(
            lambda: _all_collectors_attempted(exporter, process),
            timeout,
            "the exporter's first refresh of every collector",
        )
        yield exporter
    finally:
        _stop(process)


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus server scraping the exporter."""

    url: str
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises AssertionError with Prometheus' message when it fails."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule with its health, from /api/v1/rules."""
        body = requests.get(f"{self.url}/api/v1/rules", timeout=10).json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"prometheus exited with {process.returncode}:\n{_tail(log)}")
    if requests.get(f"{url}/-/ready", timeout=2).status_code != 200:
        raise NotYet("prometheus not ready")


@contextmanager
def running_prometheus(
    workdir: Path, target: str, rule_files: tuple[Path, ...] = (), timeout: float = 30
) -> Iterator[Prometheus]:
    """Start Prometheus scraping `target` every second and evaluating `rule_files` every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [{"job_name": SCRAPE_JOB, "static_configs": [{"targets": [target]}]}],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    log = workdir / "prometheus.log"
    command = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--log.level=warn",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        wait_for(lambda: _ready(url, process, log), timeout, "prometheus to start")
        yield Prometheus(url, log)
    finally:
        _stop(process)
