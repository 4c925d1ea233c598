"""The servers the harness measures, each run as a child: `python -m bench.serve KIND ...`.

* `exporter --workspaces N`: the real `Exporter` (scheduler, collectors, exposition, web front)
  on a `SyntheticWarehouse`; announces once every collector's part is published.
* `baseline --workspaces N`: prometheus-client's stock `start_http_server` with the same
  families in a private registry, rendered on every scrape.
* `sim --database PATH`: the simulated workspace over an already generated DuckDB file.

Each prints one JSON line (port and details) when it serves, and runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sys
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric

from bench.synthetic import SyntheticWarehouse, collectors
from databricks_exporter import logs
from databricks_exporter.settings import CollectorSettings, Secret, Settings, Workspace

#: Refresh interval of the served snapshot unless told otherwise: no refresh during a run.
STILL = 86400.0


def _announce(**info: object) -> None:
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()


async def _until_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def exporter_settings(interval: float) -> Settings:
    """Loopback on a free port, every collector on `interval`, no idle pause."""
    return Settings(
        workspace=Workspace("http://127.0.0.1:9", "synthetic", "bench", Secret("unused")),
        listen_addresses=("127.0.0.1:0",),
        collectors=tuple(
            CollectorSettings(c.name, True, interval, max(3 * interval, STILL))
            for c in collectors()
        ),
        idle_pause=0,
        log_level="warn",
    )


async def _serve_exporter(workspaces: int, interval: float) -> None:
    from databricks_exporter.app import Exporter, tune_runtime  # noqa: PLC0415  (this child only)

    tune_runtime()  # as `databricks-exporter` does

    exporter = Exporter(exporter_settings(interval), warehouse=SyntheticWarehouse(workspaces))
    await exporter.start()
    try:
        names = {c.name for c in collectors()}
        async with asyncio.timeout(600):
            while not names <= exporter.exposition.series().keys():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await exporter.exposition.publish({})  # waits for a compose in progress, then has all
        _, port = exporter.web.addresses[0]
        _announce(port=port, series=sum(exporter.exposition.series().values()))
        await _until_signal()
    finally:
        await exporter.stop()


class _Fixed:
    """A custom collector returning the same families on every collect()."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = tuple(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def _serve_baseline(workspaces: int) -> None:
    warehouse = SyntheticWarehouse(workspaces)
    families = [f for c, result in warehouse.results() for f in c.build(result).families]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    _announce(port=server.server_port, series=sum(len(f.samples) for f in families))
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.shutdown()
    thread.join(5)


async def _serve_sim(database: str, scale: str, seed: int, now: str) -> None:
    from databricks_exporter.sim import SimulatedWorkspace  # noqa: PLC0415  (DuckDB)

    workspace = SimulatedWorkspace(
        seed=seed,
        scale=scale,
        now=dt.datetime.fromisoformat(now),
        database=database,
        generate=False,
        result_ttl=600.0,
    )
    await workspace.start()
    try:
        _announce(
            port=workspace.port,
            url=workspace.url,
            warehouse_id=workspace.warehouse_id,
            client_id=workspace.client_id,
            client_secret=workspace.client_secret,
        )
        await _until_signal()
    finally:
        await workspace.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the child's arguments and serve until signalled."""
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    kinds = parser.add_subparsers(dest="kind", required=True)
    exporter = kinds.add_parser("exporter")
    exporter.add_argument("--workspaces", type=int, required=True)
    exporter.add_argument("--interval", type=float, default=STILL)
    baseline = kinds.add_parser("baseline")
    baseline.add_argument("--workspaces", type=int, required=True)
    sim = kinds.add_parser("sim")
    sim.add_argument("--database", required=True)
    sim.add_argument("--scale", required=True)
    sim.add_argument("--seed", type=int, required=True)
    sim.add_argument("--now", required=True)
    args = parser.parse_args(argv)
    logs.configure("warn", "logfmt", sys.stderr)
    if args.kind == "exporter":
        asyncio.run(_serve_exporter(args.workspaces, args.interval))
    elif args.kind == "baseline":
        _serve_baseline(args.workspaces)
    else:
        asyncio.run(_serve_sim(args.database, args.scale, args.seed, args.now))


if __name__ == "__main__":
    main()
