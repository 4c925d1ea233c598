"""Memory and start-up: peak RSS at a snapshot size, time from process start to `/-/ready`.

Peak RSS is VmHWM from /proc/<pid>/status: once the first refresh is rendered, and again after
one scrape of each body. Start-up is timed twice: `databricks-exporter --demo` (the simulated
workspace generates the small preset inside the process), and the exporter alone against a
simulated workspace already running in another process (what a deployment sees). One more
demo start runs under `python -X importtime` to show what the imports cost and that
databricks-sdk is imported once.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cache import cached_database
from bench.procs import (
    child,
    free_port,
    http_get,
    memory_kib,
    python_module,
    wait_for_status,
)
from bench.refresh import NOW, SEED, _sim_args
from bench.synthetic import workspaces_for

READY_TIMEOUT = 120.0
_LISTENING = re.compile(r"^ts=(\S+) .*msg=listening", re.MULTILINE)
_GENERATED = re.compile(r'msg="data generated" seconds=([\d.]+)')
_IMPORT = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Memory:
    """Peak RSS of the exporter (and of the baseline) at one size, in KiB."""

    target: int
    series: int
    exporter_ready: int
    exporter_scraped: int
    baseline_scraped: int


@dataclass(frozen=True)
class Start:
    """One start: seconds to listening and to ready; data generation inside it (demo)."""

    ready: float
    listening: float | None
    generated: float | None


@dataclass(frozen=True)
class Imports:
    """What `-X importtime` showed for one demo start."""

    total_seconds: float
    sdk_seconds: float
    sdk_imports: int
    heaviest: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class StartupReport:
    """Memory per size and start-up timings."""

    memory: tuple[Memory, ...]
    demo: tuple[Start, ...]
    against_sim: tuple[Start, ...]
    imports: Imports | None

    @staticmethod
    def median_ready(starts: Sequence[Start]) -> float:
        """Median seconds to ready."""
        return statistics.median(s.ready for s in starts) if starts else float("nan")


def measure_memory(target: int) -> Memory:
    """Peak RSS of the exporter and the baseline at one snapshot size."""
    workspaces = str(workspaces_for(target))
    with child(python_module("bench.serve", "exporter", "--workspaces", workspaces)) as exporter:
        ready = memory_kib(exporter.pid)["VmHWM"]
        url = f"http://127.0.0.1:{exporter.info['port']}/metrics"
        http_get(url)
        http_get(url, {"Accept-Encoding": "gzip"})
        scraped = memory_kib(exporter.pid)["VmHWM"]
        series = int(exporter.info["series"])
    with child(python_module("bench.serve", "baseline", "--workspaces", workspaces)) as baseline:
        url = f"http://127.0.0.1:{baseline.info['port']}/metrics"
        http_get(url, timeout=120)
        http_get(url, {"Accept-Encoding": "gzip"}, timeout=120)
        baseline_peak = memory_kib(baseline.pid)["VmHWM"]
    return Memory(target, series, ready, scraped, baseline_peak)


def _wall(ts: str) -> float:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


def _timed_start(args: Sequence[str], port: int, env: dict[str, str] | None = None) -> Start:
    """Start a command, poll its /-/ready, and read its log for the phases."""
    started_wall, started = time.time(), time.monotonic()
    with child(args, announces=False, env=env) as running:
        ready_url = f"http://127.0.0.1:{port}/-/ready"
        if not wait_for_status(ready_url, 200, started + READY_TIMEOUT, every=0.005):
            raise RuntimeError(f"{args[2:]} not ready in {READY_TIMEOUT} s:\n{running.stderr()}")
        ready = time.monotonic() - started
        log = running.stderr(limit=1_000_000)
    listening = _LISTENING.search(log)
    generated = _GENERATED.search(log)
    return Start(
        ready=ready,
        listening=_wall(listening[1]) - started_wall if listening else None,
        generated=float(generated[1]) if generated else None,
    )


def _demo_args(port: int, *python_flags: str) -> list[str]:
    listen = f"127.0.0.1:{port}"
    return [sys.executable, *python_flags, "-m", "databricks_exporter", "--demo",
            "--web.listen-address", listen]  # fmt: skip


def demo_start() -> Start:
    """`databricks-exporter --demo` from process start to ready."""
    port = free_port()
    return _timed_start(_demo_args(port), port)


def start_against(info: dict[str, Any]) -> Start:
    """The exporter alone, pointed at a running simulated workspace."""
    port = free_port()
    args = [
        sys.executable, "-m", "databricks_exporter",
        "--server-hostname", info["url"],
        "--warehouse-http-path", f"/sql/1.0/warehouses/{info['warehouse_id']}",
        "--client-id", info["client_id"],
        "--web.listen-address", f"127.0.0.1:{port}",
    ]  # fmt: skip
    secret = {"DATABRICKS_EXPORTER_CLIENT_SECRET": info["client_secret"]}
    return _timed_start(args, port, env=secret)


def import_costs() -> Imports:
    """One demo start under `-X importtime`."""
    port = free_port()
    started = time.monotonic()
    with child(_demo_args(port, "-X", "importtime"), announces=False) as running:
        if not wait_for_status(f"http://127.0.0.1:{port}/-/ready", 200, started + READY_TIMEOUT):
            raise RuntimeError(f"demo not ready under -X importtime:\n{running.stderr()}")
        log = running.stderr(limit=10_000_000)
    rows = [(int(m[2]), len(m[3]), m[4]) for m in _IMPORT.finditer(log)]
    top = [(name, cumulative / 1e6) for cumulative, indent, name in rows if indent == 1]
    sdk = [cumulative for cumulative, _, name in rows if name == "databricks.sdk"]
    return Imports(
        total_seconds=sum(seconds for _, seconds in top),
        sdk_seconds=sum(sdk) / 1e6,
        sdk_imports=len(sdk),
        heaviest=tuple(sorted(top, key=lambda item: -item[1])[:5]),
    )


def run(
    *,
    sizes: Sequence[int],
    starts: int,
    cache_dir: Path,
    say: Callable[[str], None] = print,
) -> StartupReport:
    """The whole memory and start-up part."""
    memory = []
    for target in sizes:
        memory.append(measure_memory(target))
        say(f"memory: {target} series: exporter peak {memory[-1].exporter_scraped / 1024:.0f} MiB")
    demo = tuple(demo_start() for _ in range(starts))
    say(f"start-up: --demo ready in {StartupReport.median_ready(demo):.2f} s (median)")
    database = cached_database(cache_dir, seed=SEED, scale="small", factor=1.0, now=NOW)
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        copy = database.copy_to(Path(tmp))
        with child(_sim_args(copy, "small")) as sim:
            against = tuple(start_against(sim.info) for _ in range(starts))
    say(f"start-up: against a running workspace {StartupReport.median_ready(against):.2f} s")
    imports = import_costs()
    say(f"start-up: databricks.sdk imported {imports.sdk_imports}x, {imports.sdk_seconds:.2f} s")
    return StartupReport(tuple(memory), demo, against, imports)
