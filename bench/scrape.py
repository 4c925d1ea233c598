"""Scrape path: the exporter's web front against nginx and prometheus-client, side by side.

For each snapshot size the exporter runs in a child on a `SyntheticWarehouse`; its two bodies
(identity and gzip) are fetched and given to nginx as static files, so both serve the same
bytes. prometheus-client's `start_http_server` gets the same families and renders them on
every scrape (gzip level 9 when asked, as it does). Each configuration (encoding x
connections) runs the exporter and nginx alternately, `repeats` times each, so noise from
the shared machine hits both alike; the baseline, slow by design, runs once per configuration
in a fresh process (its backlog of renders would otherwise spill into the next run).

Besides wrk's figures, the server's CPU time (user and system, from /proc) per request is
recorded: it is far less sensitive to a noisy neighbour than throughput.
"""

from __future__ import annotations

import gzip
import os
import re
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import LoadResult, run_load
from bench.nginx import serve_static
from bench.procs import Child, child, http_get, memory_kib, python_module
from bench.synthetic import workspaces_for

SERVERS = ("exporter", "nginx", "prometheus-client")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One load run and the server CPU it cost."""

    load: LoadResult
    user_us: float
    system_us: float


@dataclass
class Cell:
    """Repeated runs of one server at one encoding and connection count."""

    runs: list[Run] = field(default_factory=list)

    def median(self, pick: Callable[[Run], float]) -> float:
        """Median of a figure over the runs (NaN when there are none)."""
        values = [pick(run) for run in self.runs]
        return statistics.median(values) if values else float("nan")

    @property
    def rps(self) -> float:
        """Median requests per second."""
        return self.median(lambda r: r.load.requests_per_second)

    @property
    def p50(self) -> float:
        """Median of the runs' p50 latency (ms)."""
        return self.median(lambda r: r.load.p50_ms)

    @property
    def p99(self) -> float:
        """Median of the runs' p99 latency (ms)."""
        return self.median(lambda r: r.load.p99_ms)

    @property
    def cpu_us(self) -> float:
        """Median server CPU (user + system) per request, in microseconds."""
        return self.median(lambda r: r.user_us + r.system_us)

    @property
    def errors(self) -> int:
        """Errors over all runs (socket errors, timeouts, non-2xx)."""
        return sum(run.load.errors for run in self.runs)

    @property
    def requests(self) -> int:
        """Requests completed over all runs."""
        return sum(run.load.requests for run in self.runs)


@dataclass
class SizeResult:
    """Every server and configuration at one snapshot size."""

    target: int
    series: int
    baseline_series: int
    body_bytes: int
    gzip_bytes: int
    cells: dict[tuple[str, bool, int], Cell] = field(default_factory=dict)
    memory_kib: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The exporter idle ("still") and refreshing every collector continuously, gzip.
    refreshing: dict[str, Cell] = field(default_factory=dict)
    #: Seconds the refreshing exporter's largest collector (billing) took per refresh.
    refresh_seconds: float | None = None
    refreshing_connections: int = 0

    def cell(self, server: str, gzipped: bool, connections: int) -> Cell:
        """The cell of one configuration (created empty on first use)."""
        return self.cells.setdefault((server, gzipped, connections), Cell())


@dataclass(frozen=True)
class ScrapeSettings:
    """How much load to apply."""

    sizes: Sequence[int]
    connections: Sequence[int]
    seconds: float
    repeats: int
    baseline_seconds: float
    tool: str = "wrk"
    #: Seconds of unrecorded load per server and encoding before measuring (0: none).
    warmup: float = 1.0
    #: Scrapes while refreshing: connections, and each collector's interval (0: not measured).
    refreshing_connections: int = 16
    refreshing_interval: float = 1.0


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process and its children (nginx's worker)."""
    user = system = 0.0
    for one in (pid, *_children(pid)):
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11]) / _TICK
        system += int(fields[12]) / _TICK
    return user, system


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def measure(
    tool: str, server: Child, url: str, *, connections: int, seconds: float, gzipped: bool,
    timeout: float,
) -> Run:  # fmt: skip
    """One load run against `url`, with the server's CPU time per request."""
    user, system = _cpu_seconds(server.pid)
    load = run_load(
        tool, url, connections=connections, seconds=seconds, gzip=gzipped, timeout=timeout
    )
    user_after, system_after = _cpu_seconds(server.pid)
    done = max(load.requests, 1)
    return Run(load, (user_after - user) * 1e6 / done, (system_after - system) * 1e6 / done)


def _url(running: Child) -> str:
    return f"http://127.0.0.1:{running.info['port']}/metrics"


def _exporter(workspaces: int) -> AbstractContextManager[Child]:
    return child(python_module("bench.serve", "exporter", "--workspaces", str(workspaces)))


def _baseline(workspaces: int) -> AbstractContextManager[Child]:
    return child(python_module("bench.serve", "baseline", "--workspaces", str(workspaces)))


@contextmanager
def _servers(workspaces: int, workdir: Path) -> Iterator[tuple[Child, Child, bytes, bytes]]:
    """The exporter and nginx serving its exact bodies."""
    with _exporter(workspaces) as exporter:
        url = _url(exporter)
        body = http_get(url)
        body_gzip = http_get(url, {"Accept-Encoding": "gzip"})
        if gzip.decompress(body_gzip) != body:
            raise RuntimeError("the exporter's gzip body does not match its identity body")
        with serve_static(workdir, body, body_gzip) as nginx:
            if http_get(_url(nginx), {"Accept-Encoding": "gzip"}) != body_gzip:
                raise RuntimeError("nginx does not serve the exporter's gzip body")
            yield exporter, nginx, body, body_gzip


def measure_size(target: int, settings: ScrapeSettings, say: Callable[[str], None]) -> SizeResult:
    """Every configuration at one snapshot size."""
    workspaces = workspaces_for(target)
    with (
        tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp,
        _servers(workspaces, Path(tmp)) as (exporter, nginx, body, body_gzip),
    ):
        result = SizeResult(target, exporter.info["series"], 0, len(body), len(body_gzip))
        result.memory_kib["exporter at start"] = memory_kib(exporter.pid)
        say(f"scrape: {result.series} series, {len(body)} bytes, {len(body_gzip)} gzipped")
        for server in (exporter, nginx) if settings.warmup > 0 else ():  # not recorded
            for gzipped in (False, True):
                run_load(
                    settings.tool, _url(server), connections=16, seconds=settings.warmup,
                    gzip=gzipped,
                )  # fmt: skip
        for gzipped in (False, True):
            for connections in settings.connections:
                _configuration(
                    result=result, settings=settings, exporter=exporter, nginx=nginx,
                    gzipped=gzipped, connections=connections, say=say,
                )  # fmt: skip
        result.memory_kib["exporter after load"] = memory_kib(exporter.pid)
        if settings.refreshing_interval > 0:
            _while_refreshing(result, settings, exporter, workspaces, say)
    return result


_REFRESH_SECONDS = re.compile(
    rb'^databricks_exporter_collector_refresh_duration_seconds\{collector="billing"\} (\S+)$',
    re.MULTILINE,
)


def _while_refreshing(
    result: SizeResult, settings: ScrapeSettings, still: Child, workspaces: int,
    say: Callable[[str], None],
) -> None:  # fmt: skip
    """Scrape latency while every collector refreshes (renders) back to back, against idle.

    Rendering runs in a worker thread but holds the GIL, which the event loop then waits for.
    """
    interval = str(settings.refreshing_interval)
    args = python_module("bench.serve", "exporter", "--workspaces", str(workspaces),
                         "--interval", interval)  # fmt: skip
    connections = result.refreshing_connections = settings.refreshing_connections
    with child(args) as refreshing:
        for _ in range(settings.repeats):
            for name, server in (("still", still), ("refreshing", refreshing)):
                run = measure(
                    settings.tool, server, _url(server), connections=connections,
                    seconds=settings.seconds, gzipped=True, timeout=10.0,
                )  # fmt: skip
                result.refreshing.setdefault(name, Cell()).runs.append(run)
        found = _REFRESH_SECONDS.search(http_get(_url(refreshing)))
        result.refresh_seconds = float(found[1]) if found else None
    cells = result.refreshing
    say(
        f"scrape: {result.target} gzip c={connections} while refreshing: p99 "
        f"{cells['refreshing'].p99:.1f} ms (idle {cells['still'].p99:.1f} ms)"
    )


def _configuration(
    *,
    result: SizeResult, settings: ScrapeSettings, exporter: Child, nginx: Child,
    gzipped: bool, connections: int, say: Callable[[str], None],
) -> None:  # fmt: skip
    label = f"{'gzip' if gzipped else 'identity'} c={connections}"
    for _ in range(settings.repeats):
        for name, server in (("exporter", exporter), ("nginx", nginx)):
            run = measure(
                settings.tool, server, _url(server), connections=connections,
                seconds=settings.seconds, gzipped=gzipped, timeout=10.0,
            )  # fmt: skip
            result.cell(name, gzipped, connections).runs.append(run)
    with _baseline(workspaces_for(result.target)) as baseline:
        result.baseline_series = baseline.info["series"]
        run = measure(
            settings.tool, baseline, _url(baseline), connections=connections,
            seconds=settings.baseline_seconds, gzipped=gzipped, timeout=60.0,
        )  # fmt: skip
        result.cell("prometheus-client", gzipped, connections).runs.append(run)
        memory = memory_kib(baseline.pid)
        peak = result.memory_kib.setdefault("prometheus-client after load", memory)
        peak["VmHWM"] = max(peak["VmHWM"], memory["VmHWM"])
    cells = [result.cell(name, gzipped, connections) for name in SERVERS]
    say(
        f"scrape: {result.target} {label}: "
        + ", ".join(
            f"{name} {cell.rps:.0f}/s p99 {cell.p99:.1f} ms"
            for name, cell in zip(SERVERS, cells, strict=True)
        )
    )


def run(settings: ScrapeSettings, say: Callable[[str], None] = print) -> list[SizeResult]:
    """The whole scrape part."""
    return [measure_size(target, settings, say) for target in settings.sizes]
