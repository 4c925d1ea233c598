"""Loopback-only admin endpoints: faults, counters, recent statements, the clock."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import time
from typing import Any

from aiohttp import web

from databricks_exporter.sim.context import CONTEXT, Context, Handler
from databricks_exporter.sim.faults import FaultError
from databricks_exporter.sim.statements import Statement

ADMIN_PREFIX = "/admin/"


def _peer_is_loopback(request: web.Request) -> bool:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    host = peer[0] if isinstance(peer, tuple) and peer else None
    try:
        return host is not None and ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admin endpoints answer loopback peers only."""
    if request.path.startswith(ADMIN_PREFIX) and not _peer_is_loopback(request):
        return web.json_response(
            {"error": "admin endpoints accept loopback peers only"}, status=403
        )
    return await handler(request)


def _ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def get_faults(request: web.Request) -> web.Response:
    """`GET /admin/faults`: the faults in force, remaining counts included."""
    return web.json_response(_ctx(request).faults.spec.to_json())


async def change_faults(request: web.Request) -> web.Response:
    """`POST` replaces every fault, `PATCH` replaces the given keys, `DELETE` clears all."""
    faults = _ctx(request).faults
    body = {} if request.method == "DELETE" else await _body(request)
    if not isinstance(body, dict):
        return _bad_request("expected a JSON object of faults")
    try:
        if request.method == "PATCH":
            faults.update(body)
        else:
            faults.set(body)
    except FaultError as error:
        return _bad_request(str(error))
    return web.json_response(faults.spec.to_json())


async def get_stats(request: web.Request) -> web.Response:
    """`GET /admin/stats`: the warehouse's counters."""
    return web.json_response(_ctx(request).stats.snapshot())


async def reset_stats(request: web.Request) -> web.Response:
    """`POST /admin/reset-stats`: zero the counters."""
    stats = _ctx(request).stats
    stats.reset()
    return web.json_response(stats.snapshot())


def statement_summary(statement: Statement) -> dict[str, Any]:
    """One line of `GET /admin/statements`."""
    end = statement.finished if statement.finished is not None else time.monotonic()
    error = statement.error
    return {
        "statement_id": statement.id,
        "state": statement.state,
        "query_tags": dict(statement.request.tags),
        "statement": statement.request.statement[:500],
        "submitted_at": statement.submitted_at.isoformat(),
        "duration_ms": round((end - statement.submitted) * 1000, 3),
        "row_count": len(statement.result.rows) if statement.result is not None else None,
        "error_code": error.error_code if error else None,
        "sql_state": error.sql_state if error else None,
    }


async def get_statements(request: web.Request) -> web.Response:
    """`GET /admin/statements?limit=N`: the most recent statements, newest first."""
    text = request.query.get("limit", "100")
    if not text.isdigit():
        return _bad_request("limit must be a non-negative integer")
    recent = _ctx(request).store.recent(int(text))
    return web.json_response([statement_summary(s) for s in recent])


def _clock_json(ctx: Context) -> dict[str, Any]:
    return {"now": ctx.clock.now().isoformat(), "frozen": ctx.clock.frozen}


async def get_clock(request: web.Request) -> web.Response:
    """`GET /admin/clock`."""
    return web.json_response(_clock_json(_ctx(request)))


async def set_clock(request: web.Request) -> web.Response:
    """`POST /admin/clock` with `{"now": ISO-8601}` (freezes) or `{"advance": seconds}`."""
    ctx = _ctx(request)
    body = await _body(request)
    if not isinstance(body, dict) or not ({"now", "advance"} & body.keys()):
        return _bad_request('expected {"now": "<ISO-8601>"} or {"advance": <seconds>}')
    try:
        if "now" in body:
            ctx.clock.set_now(dt.datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00")))
        if "advance" in body:
            ctx.clock.advance(float(body["advance"]))
    except (TypeError, ValueError) as error:
        return _bad_request(f"bad clock value: {error}")
    return web.json_response(_clock_json(ctx))


def add_admin_routes(app: web.Application) -> None:
    """Mount the admin endpoints (the loopback check is `loopback_only`)."""
    app.router.add_get("/admin/faults", get_faults)
    for method in ("POST", "PATCH", "DELETE"):
        app.router.add_route(method, "/admin/faults", change_faults)
    app.router.add_get("/admin/stats", get_stats)
    app.router.add_post("/admin/reset-stats", reset_stats)
    app.router.add_get("/admin/statements", get_statements)
    app.router.add_get("/admin/clock", get_clock)
    app.router.add_post("/admin/clock", set_clock)
