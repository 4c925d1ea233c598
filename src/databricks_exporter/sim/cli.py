"""`databricks-sim`: serve a simulated Databricks workspace on loopback until SIGINT/SIGTERM.

Faults (`--fault`, repeatable; `DATABRICKS_SIM_FAULT` takes several separated by `;`):

  token=401|500[,count=N]        the token endpoint refuses
  token-delay=SECONDS            the token endpoint answers late
  api=401|403|429|503[,retry_after=S][,count=N]
                                 API calls fail (429/503 with Retry-After)
  hidden=system.S.T              a table is invisible (TABLE_OR_VIEW_NOT_FOUND)
  denied=system.S.T              a table is not granted (INSUFFICIENT_PERMISSIONS)
  stopped=SECONDS                the warehouse is stopped; the next statement starts it
  slow=SECONDS[,count=N]         statements stay RUNNING that much longer
  reset=COUNT[,scope=api|token|all]
                                 abort the next COUNT connections
  corrupt=MODE[,column=C][,value=V][,count=N]
                                 damage results: drop_column, non_numeric, wrong_type,
                                 nan, null, empty, drop_rows (rows where C = V)
  {"api": {...}, ...}            or the JSON of POST /admin/faults
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from databricks_exporter import logs
from databricks_exporter.settings import parse_listen_address
from databricks_exporter.sim.faults import FaultError, FaultSpec, parse_flag
from databricks_exporter.sim.workspace import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WAREHOUSE_ID,
    DEFAULT_WORKSPACE_ID,
    SimulatedWorkspace,
    is_loopback,
)

PROG = "databricks-sim"
ENV_PREFIX = "DATABRICKS_SIM_"
DEFAULT_LISTEN = "127.0.0.1:8080"


class UsageError(Exception):
    """A flag or environment value that cannot be used."""


def _env(name: str) -> str:
    return ENV_PREFIX + name.upper().replace("-", "_")


def _add(parser: argparse.ArgumentParser, flag: str, help_text: str, **kw: Any) -> None:
    name = flag.lstrip("-")
    default = kw.pop("default", None)
    shown = f" (default: {default})" if default not in (None, False) else ""
    parser.add_argument(flag, help=f"{help_text}{shown} [env {_env(name)}]", **kw)


def build_parser() -> argparse.ArgumentParser:
    """The flags of `databricks-sim`, each with its environment twin."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve a simulated Databricks workspace (OIDC + Statement Execution API).",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add(parser, "--listen", "HOST:PORT to listen on", default=DEFAULT_LISTEN)
    _add(parser, "--allow-remote", "allow a non-loopback --listen address", action="store_true")
    _add(parser, "--seed", "seed of the data generator", default=1, metavar="N")
    _add(parser, "--scale", "data preset: small or large", default="small")
    _add(parser, "--size-factor", "multiply the preset's volumes", default=1.0, metavar="F")
    _add(parser, "--client-id", "OAuth client id to accept", default=DEFAULT_CLIENT_ID)
    _add(parser, "--client-secret", "OAuth client secret to accept", default=DEFAULT_CLIENT_SECRET)
    _add(parser, "--warehouse-id", "id of the one SQL warehouse", default=DEFAULT_WAREHOUSE_ID)
    _add(parser, "--workspace-id", "workspace id reported", default=DEFAULT_WORKSPACE_ID)
    _add(parser, "--token-ttl", "seconds an access token lives", default=3600.0, metavar="S")
    _add(parser, "--now", "freeze the clock at this ISO-8601 time (default: real time)")
    _add(parser, "--database", "DuckDB file for the tables (default: in memory)", metavar="PATH")
    _add(parser, "--chunk-bytes", "result chunk size", default=DEFAULT_CHUNK_BYTES, metavar="B")
    _add(parser, "--fault", "switch a fault on at start (repeatable; see below)", action="append")
    _add(parser, "--log-level", "debug, info, warn or error", default="info")
    _add(parser, "--log-format", "logfmt or json", default="logfmt")
    return parser


def _value(args: argparse.Namespace, env: Mapping[str, str], name: str, default: Any) -> Any:
    given = getattr(args, name.replace("-", "_"))
    if given not in (None, False):
        return given
    return env.get(_env(name), default)


def _number(text: Any, flag: str, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise UsageError(f"--{flag}: expected a number, got {text!r}") from None
    if value < 0 or (flag != "seed" and value == 0):
        raise UsageError(f"--{flag}: must be positive, got {text!r}")
    return value


def _faults(args: argparse.Namespace, env: Mapping[str, str]) -> FaultSpec:
    texts = list(args.fault or [])
    if not texts and env.get(_env("fault")):
        texts = [part for part in env[_env("fault")].split(";") if part.strip()]
    data: dict[str, Any] = {}
    try:
        for text in texts:
            data = parse_flag(text, data)
        return FaultSpec.from_json(data)
    except FaultError as error:
        raise UsageError(f"--fault: {error}") from None


def _now(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now: {text!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _choice(value: str, flag: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise UsageError(f"--{flag}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def workspace_kwargs(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """The SimulatedWorkspace arguments the flags and environment ask for, validated."""

    def get(name: str, default: Any = None) -> Any:
        return _value(args, env, name, default)

    try:
        host, port = parse_listen_address(str(get("listen", DEFAULT_LISTEN)))
    except ValueError as error:
        raise UsageError(f"--listen: {error}") from None
    allow_remote = str(get("allow-remote", "")).lower() in ("1", "true", "yes", "on")
    if not allow_remote and not is_loopback(host or "0.0.0.0"):  # noqa: S104 - it is refused
        raise UsageError(
            f"--listen: {host or 'all interfaces'} is not loopback; add --allow-remote"
        )
    return {
        "host": host or "0.0.0.0",  # noqa: S104 - only reached with --allow-remote
        "port": port,
        "allow_remote": allow_remote,
        "seed": _number(get("seed", 1), "seed", int),
        "scale": _choice(str(get("scale", "small")), "scale", ("small", "large")),
        "size_factor": _number(get("size-factor", 1.0), "size-factor", float),
        "client_id": str(get("client-id", DEFAULT_CLIENT_ID)),
        "client_secret": str(get("client-secret", DEFAULT_CLIENT_SECRET)),
        "warehouse_id": str(get("warehouse-id", DEFAULT_WAREHOUSE_ID)),
        "workspace_id": str(get("workspace-id", DEFAULT_WORKSPACE_ID)),
        "token_ttl": _number(get("token-ttl", 3600.0), "token-ttl", float),
        "now": _now(get("now")),
        "database": get("database"),
        "chunk_bytes": _number(get("chunk-bytes", DEFAULT_CHUNK_BYTES), "chunk-bytes", int),
        "faults": _faults(args, env),
    }


def ready_line(ws: SimulatedWorkspace) -> str:
    """The one line printed on start: how to point the exporter at this workspace."""
    return (
        f"{PROG} ready: databricks-exporter --server-hostname {ws.url} "
        f"--warehouse-http-path {ws.http_path} "
        f"--client-id {ws.client_id} --client-secret {ws.client_secret}"
    )


async def serve(kwargs: Mapping[str, Any], stop: asyncio.Event | None = None) -> None:
    """Run a workspace until `stop` is set or SIGINT/SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    workspace = SimulatedWorkspace(**kwargs)
    await workspace.start()
    try:
        print(ready_line(workspace), flush=True)
        await stop.wait()
    finally:
        logs.get_logger("sim.cli").info("stopping")
        await workspace.stop()


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of `databricks-sim`."""
    environment = os.environ if env is None else env
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        kwargs = workspace_kwargs(args, environment)
        level = _choice(
            str(_value(args, environment, "log-level", "info")), "log-level", tuple(logs.LEVELS)
        )
        fmt = _choice(
            str(_value(args, environment, "log-format", "logfmt")), "log-format", logs.FORMATS
        )
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    logs.configure(level, fmt)
    logs.register_secret(kwargs["client_secret"])
    try:
        asyncio.run(serve(kwargs))
    except OSError as error:
        print(
            f"{PROG}: error: cannot listen on {kwargs['host']}:{kwargs['port']}: {error}",
            file=sys.stderr,
        )
        return 1
    return 0
