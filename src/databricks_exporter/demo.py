"""`--demo`: start the simulated workspace in this process and point the exporter at it."""

from __future__ import annotations

import secrets
import sys
from contextlib import AsyncExitStack
from dataclasses import replace

from databricks_exporter import logs
from databricks_exporter.settings import Secret, Settings, Workspace, parse_listen_address

DEMO_CLIENT_ID = "demo-exporter"


async def start_demo(settings: Settings, stack: AsyncExitStack) -> Settings:
    """Start the simulator (stopped when `stack` closes) and return settings pointing at it."""
    from databricks_exporter.sim import SimulatedWorkspace  # noqa: PLC0415  (heavy: DuckDB)

    secret = secrets.token_urlsafe(24)
    logs.register_secret(secret)
    workspace = SimulatedWorkspace(client_id=DEMO_CLIENT_ID, client_secret=secret)
    await workspace.start()
    stack.push_async_callback(workspace.stop)
    _announce(settings, workspace.url)
    return replace(
        settings,
        workspace=Workspace(
            host=workspace.url,
            warehouse_id=workspace.warehouse_id,
            client_id=DEMO_CLIENT_ID,
            client_secret=Secret(secret),
        ),
    )


def _announce(settings: Settings, simulator_url: str) -> None:
    host, port = parse_listen_address(settings.listen_addresses[0])
    shown = host if host and host not in ("0.0.0.0", "::") else "localhost"  # noqa: S104
    shown = f"[{shown}]" if ":" in shown else shown
    base = f"http://{shown}:{port}"
    print(
        f"databricks-exporter demo: metrics at {base}{settings.telemetry_path}, status page at "
        f"{base}/ (simulated workspace at {simulator_url}); Ctrl-C stops it.",
        file=sys.stdout,
        flush=True,
    )
