"""What the HTTP handlers share: the workspace's parts, stored on the aiohttp application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from databricks_exporter.sim.auth import Credentials, TokenIssuer
from databricks_exporter.sim.clock import SimClock
from databricks_exporter.sim.faults import Faults
from databricks_exporter.sim.runner import Runner
from databricks_exporter.sim.statements import StatementStore
from databricks_exporter.sim.stats import Stats

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Context:
    """Everything the handlers need, shared with the workspace object."""

    credentials: Credentials
    tokens: TokenIssuer
    faults: Faults
    runner: Runner
    store: StatementStore
    stats: Stats
    clock: SimClock
    warehouse_id: str
    workspace_id: str


CONTEXT = web.AppKey("context", Context)
