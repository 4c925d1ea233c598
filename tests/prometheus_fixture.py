"""A real Prometheus server for tests, reusable by any test module.

    from prometheus_fixture import ScrapeTarget, requires_prometheus

    @requires_prometheus
    def test_x(prometheus: StartPrometheus) -> None:
        server = prometheus([ScrapeTarget("127.0.0.1:9976")])
        server.wait_for_value('up{job="exporter"}', 1)

`prometheus` (re-exported by tests/conftest.py) starts Prometheus on a free loopback port with a
generated config, its TSDB in the test's tmp directory and a 1s scrape interval, waits for
`/-/ready` by polling, and stops it when the test ends. TLS, client certificates and basic auth
(password written to a file, never into the config) are per target.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import yaml

T = TypeVar("T")
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
_INSTALL_HINT = "not on PATH (.ci/run installs Debian's prometheus package)"
requires_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason=f"prometheus {_INSTALL_HINT}")
requires_promtool = pytest.mark.skipif(PROMTOOL is None, reason=f"promtool {_INSTALL_HINT}")


class NotYet(Exception):
    """A polled condition that has not come true yet."""


def poll(check: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Call `check` until it returns without raising NotYet; fail after `timeout` seconds."""
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


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ScrapeTarget:
    """One scrape job: where, and how to authenticate."""

    address: str  # host:port
    job: str = "exporter"
    scheme: str = "http"
    metrics_path: str = "/metrics"
    ca_file: Path | None = None
    server_name: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = None

    def scrape_config(self, workdir: Path) -> dict[str, Any]:
        """This target as a Prometheus `scrape_configs` entry."""
        config: dict[str, Any] = {
            "job_name": self.job,
            "scheme": self.scheme,
            "metrics_path": self.metrics_path,
            "static_configs": [{"targets": [self.address]}],
        }
        tls = {
            "ca_file": self.ca_file,
            "server_name": self.server_name,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
        }
        if any(value is not None for value in tls.values()):
            config["tls_config"] = {k: str(v) for k, v in tls.items() if v is not None}
        if self.username is not None:
            password_file = workdir / f"{self.job}.password"
            password_file.write_text(self.password or "", encoding="utf-8")
            password_file.chmod(0o600)
            config["basic_auth"] = {"username": self.username, "password_file": str(password_file)}
        return config


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus; query it through its HTTP API."""

    url: str
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises AssertionError with Prometheus' message when it fails."""
        reply = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = reply.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The value of a query returning at most one sample."""
        result = self.query(expr)
        if len(result) > 1:
            raise AssertionError(f"{expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list[dict[str, Any]]:
        """The active targets with their health and last error (for diagnostics)."""
        reply = requests.get(f"{self.url}/api/v1/targets", timeout=10).json()
        active: list[dict[str, Any]] = reply["data"]["activeTargets"]
        return active

    def wait_for_value(self, expr: str, expected: float, timeout: float = 20) -> float:
        """Poll until `expr` has the value `expected`; the failure shows the targets' state."""

        def check() -> float:
            value = self.value(expr)
            if value != expected:
                states = [
                    (t["labels"].get("job"), t["health"], t["lastError"]) for t in self.targets()
                ]
                raise NotYet(f"{expr} = {value}; targets: {states}")
            return value

        return poll(check, timeout, f"{expr} == {expected}")


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


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"prometheus exited with {process.returncode}:\n{_tail(log)}")
    if requests.get(f"{url}/-/ready", timeout=2).status_code != 200:
        raise NotYet("prometheus not ready")


@contextmanager
def running_prometheus(
    workdir: Path,
    targets: Sequence[ScrapeTarget],
    *,
    scrape_interval: str = "1s",
    rule_files: Sequence[Path] = (),
    timeout: float = 30,
) -> Iterator[PrometheusServer]:
    """Start Prometheus scraping `targets`; stop it on exit."""
    if PROMETHEUS is None:
        pytest.skip(f"prometheus {_INSTALL_HINT}")
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": scrape_interval,
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [target.scrape_config(workdir) for target in targets],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    log = workdir / "prometheus.log"
    command = [
        PROMETHEUS,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--log.level=info",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        poll(lambda: _ready(url, process, log), timeout, "prometheus to start")
        yield PrometheusServer(url, log)
    finally:
        _stop(process)


StartPrometheus = Callable[..., PrometheusServer]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[StartPrometheus]:
    """prometheus(targets, scrape_interval="1s", rule_files=()) -> a ready PrometheusServer."""
    with ExitStack() as stack:
        started: list[PrometheusServer] = []

        def start(targets: Sequence[ScrapeTarget], **options: Any) -> PrometheusServer:
            workdir = tmp_path / f"prometheus-{len(started)}"
            server = stack.enter_context(running_prometheus(workdir, targets, **options))
            started.append(server)
            return server

        yield start


def promtool_check_metrics(exposition: bytes) -> subprocess.CompletedProcess[str]:
    """Run `promtool check metrics` on an exposition body (text format)."""
    if PROMTOOL is None:
        pytest.skip(f"promtool {_INSTALL_HINT}")
    return subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=exposition.decode("utf-8"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
