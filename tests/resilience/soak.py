"""Pieces of the soak run: the workspace as a process, scrapers on their own thread, resources.

The simulated workspace runs as a `databricks-sim` process, so the figures sampled from
/proc/self describe the exporter (and the test around it), not DuckDB and its query history.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import re
import select
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
_READY = re.compile(r"--server-hostname (\S+)")


@dataclass(frozen=True)
class SimProcess:
    """A running `databricks-sim`."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def sim_process(log: Path, *arguments: str, within: float = 60.0) -> Iterator[SimProcess]:
    """Start `databricks-sim` on a free loopback port; stop it (SIGTERM) at the end."""
    command = [
        str(Path(sys.executable).with_name("databricks-sim")),
        "--listen=127.0.0.1:0",
        *arguments,
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sink)
    try:
        yield SimProcess(_ready_url(process, within), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready_url(process: subprocess.Popen[bytes], within: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([process.stdout], [], [], 0.2)
        if readable:
            line = process.stdout.readline().decode()
            if match := _READY.search(line):
                return match.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"databricks-sim exited with {process.returncode}")
    raise TimeoutError("databricks-sim did not print its ready line")


@dataclass
class Sample:
    """The process's resources at one moment."""

    at: float
    rss_kib: int
    threads: int
    fds: int
    tasks: int


def sample(started: float) -> Sample:
    """RSS, threads (from /proc/self/status), open descriptors and asyncio tasks, now."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return Sample(
        at=round(time.monotonic() - started, 1),
        rss_kib=int(fields["VmRSS"].split()[0]),
        threads=int(fields["Threads"]),
        fds=len(os.listdir("/proc/self/fd")),
        tasks=len(asyncio.all_tasks()),
    )


def steady(samples: list[Sample], attribute: str) -> float:
    """The median of an attribute over samples (one odd reading does not decide)."""
    return float(statistics.median(getattr(s, attribute) for s in samples))


#: Upper bounds (seconds) of the scrape latency histogram.
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass
class ScrapeCounts:
    """What the scrapers saw (latencies as a histogram: a list would grow with the run)."""

    scrapes: int = 0
    failures: list[str] = field(default_factory=list)
    probes: int = 0
    bytes: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    slowest: float = 0.0

    def took(self, seconds: float) -> None:
        """Count one scrape's latency."""
        self.slowest = max(self.slowest, seconds)
        self.latency[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket holding the q-quantile latency (inf past the last)."""
        rank, seen = q * sum(self.latency), 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.latency, strict=True):
            seen += count
            if seen >= rank:
                return bound
        return float("inf")


class Scrapers:
    """Scrape `/metrics` back to back from several clients on a thread and loop of their own."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.clients = clients
        self.counts = ScrapeCounts()
        self.quiet = threading.Event()  # set: nobody scrapes (health probes go on)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scrapers", daemon=True)

    async def __aenter__(self) -> Scrapers:
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()  # joined off the loop: the exporter must go on serving meanwhile
        await asyncio.to_thread(self._thread.join, 30)
        assert not self._thread.is_alive(), "a scraper is stuck"

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        # Generous: a loaded CI machine may starve this thread; latency is recorded apart.
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            clients = [self._client(session, n) for n in range(self.clients)]
            await asyncio.gather(*clients, self._prober(session))

    async def _client(self, session: aiohttp.ClientSession, number: int) -> None:
        headers = [{}, {"Accept": OPENMETRICS}, {"Accept-Encoding": "gzip"}][number % 3]
        while not self._stop.is_set():
            if self.quiet.is_set():
                await asyncio.sleep(0.05)
                continue
            await self._scrape(session, headers)

    async def _scrape(self, session: aiohttp.ClientSession, headers: dict[str, str]) -> None:
        started = time.monotonic()
        try:
            async with session.get(self.url + "/metrics", headers=headers) as response:
                body = await response.read()
                problem = _problem(response.status, body, OPENMETRICS in headers.get("Accept", ""))
        except (aiohttp.ClientError, TimeoutError) as error:
            problem = f"{type(error).__name__}: {error}"
            body = b""
        self.counts.scrapes += 1
        self.counts.took(time.monotonic() - started)
        self.counts.bytes += len(body)
        if problem:
            self.counts.failures.append(problem)

    async def _prober(self, session: aiohttp.ClientSession) -> None:
        """Health and status page now and then: they must answer, whatever happens."""
        while not self._stop.is_set():
            for path in ("/-/healthy", "/-/ready", "/"):
                try:
                    async with session.get(self.url + path) as response:
                        await response.read()
                        if response.status not in (200, 503):
                            self.counts.failures.append(f"{path}: HTTP {response.status}")
                except (aiohttp.ClientError, TimeoutError) as error:
                    self.counts.failures.append(f"{path}: {type(error).__name__}")
                self.counts.probes += 1
            await asyncio.sleep(0.2)


def _problem(status: int, body: bytes, openmetrics: bool) -> str:
    if status != 200:
        return f"HTTP {status}"
    if b"\ndatabricks_up " not in b"\n" + body:
        return "no databricks_up in the body"
    if openmetrics and not body.endswith(b"# EOF\n"):
        return "OpenMetrics body without # EOF"
    return ""
