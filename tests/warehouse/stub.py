"""A tiny scriptable Databricks imitation for the client's unit tests (aiohttp on a thread).

The project's simulated workspace is the partner for end-to-end tests; this stub exists for
what is awkward to provoke there: exact chunk layouts and column types, arbitrary FAILED
statuses, token replies in odd shapes, one-off HTTP errors at a chosen request.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Row = list[str | None]


@dataclass
class Plan:
    """How the stub answers one SQL text."""

    columns: list[tuple[str, str]] = field(default_factory=lambda: [("n", "LONG")])
    chunks: list[list[Row]] = field(default_factory=lambda: [[["1"]]])
    polls: int = 0  # GETs answered RUNNING before the final state
    forever: bool = False  # RUNNING until cancelled
    state: str = "SUCCEEDED"
    error: dict[str, str] | None = None
    sql_state: str | None = None


@dataclass
class Reply:
    """An HTTP reply served instead of the normal one."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # only for requests with this method (None: any)


@dataclass
class StubStatement:
    id: str
    plan: Plan
    body: dict[str, Any]
    polls_left: int
    canceled: bool = False

    @property
    def state(self) -> str:
        if self.canceled:
            return "CANCELED"
        if self.plan.forever or self.polls_left > 0:
            return "RUNNING"
        return self.plan.state


class Stub:
    """State and handlers; `start()` serves them on 127.0.0.1 from a background thread."""

    def __init__(self) -> None:
        self.client_id, self.secret = "stub-client", "stub-secret-0123"
        self.metadata = True
        self.plans: dict[str, Plan] = {}
        self.statements: dict[str, StubStatement] = {}
        self.token_replies: deque[Reply] = deque()
        self.api_replies: deque[Reply] = deque()
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.reset_next = 0  # API requests to answer by resetting the connection
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("stub did not start")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._setup())
        ready.set()
        self._loop.run_forever()

    async def _setup(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/.well-known/databricks-config", self._metadata)
        app.router.add_post("/oidc/v1/token", self._token)
        app.router.add_post("/api/2.0/sql/statements", self._execute)
        app.router.add_post("/api/2.0/sql/statements/", self._execute)
        app.router.add_get("/api/2.0/sql/statements/{id}", self._get)
        app.router.add_post("/api/2.0/sql/statements/{id}/cancel", self._cancel)
        app.router.add_get("/api/2.0/sql/statements/{id}/result/chunks/{n}", self._chunk)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- helpers for tests -----------------------------------------------------------

    def count(self, method: str, path_prefix: str) -> int:
        """How many requests with this method had a path starting with `path_prefix`."""
        return sum(1 for m, p in list(self.requests) if m == method and p.startswith(path_prefix))

    @property
    def submissions(self) -> list[dict[str, Any]]:
        return [s.body for s in self.statements.values()]

    # ----- handlers --------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.reset_next > 0 and request.path.startswith("/api/"):
            self.reset_next -= 1
            _reset(request)
            raise ConnectionResetError("reset by the stub")
        response: web.StreamResponse = await handler(request)
        return response

    async def _metadata(self, request: web.Request) -> web.Response:
        if not self.metadata:
            return web.Response(status=404)
        return web.json_response({"oidc_endpoint": f"{self.url}/oidc", "workspace_id": "42"})

    async def _token(self, request: web.Request) -> web.Response:
        if self.token_replies:
            return _reply(self.token_replies.popleft())
        expected = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            body = {"error": "invalid_client", "error_description": "Client authentication failed"}
            return web.json_response(body, status=401)
        token = "stub-token-" + secrets.token_hex(8)
        self.tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self.api_replies and self.api_replies[0].method in (None, request.method):
            return _reply(self.api_replies.popleft())
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            body = {"error_code": "UNAUTHENTICATED", "message": "invalid access token"}
            return web.json_response(body, status=401)
        return None

    async def _execute(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body = await request.json()
        plan = self.plans.get(body["statement"], Plan())
        statement = StubStatement(f"stmt-{next(self._ids)}", plan, body, plan.polls)
        self.statements[statement.id] = statement
        return web.json_response(_response(statement))

    async def _get(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        statement = self.statements[request.match_info["id"]]
        statement.polls_left -= 1
        return web.json_response(_response(statement))

    async def _cancel(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        statement = self.statements[request.match_info["id"]]
        statement.canceled = statement.state in ("PENDING", "RUNNING")
        return web.json_response({})

    async def _chunk(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        statement = self.statements[request.match_info["id"]]
        return web.json_response(_chunk(statement.plan, int(request.match_info["n"])))


def _reset(request: web.Request) -> None:
    """Abort the TCP connection with an RST instead of answering."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _reply(reply: Reply) -> web.Response:
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    if isinstance(reply.body, str):
        return web.Response(
            status=reply.status, text=reply.body, headers=reply.headers, content_type="text/html"
        )
    return web.json_response(reply.body, status=reply.status, headers=reply.headers)


def _response(statement: StubStatement) -> dict[str, Any]:
    state = statement.state
    status: dict[str, Any] = {"state": state}
    out: dict[str, Any] = {"statement_id": statement.id, "status": status}
    plan = statement.plan
    if state == "FAILED":
        status["error"] = plan.error or {"error_code": "BAD_REQUEST", "message": "failed"}
        if plan.sql_state:
            status["sql_state"] = plan.sql_state
    if state == "SUCCEEDED":
        columns = [
            {"name": name, "type_name": type_name, "type_text": type_name, "position": i}
            for i, (name, type_name) in enumerate(plan.columns)
        ]
        out["manifest"] = {
            "format": "JSON_ARRAY",
            "schema": {"column_count": len(columns), "columns": columns},
            "total_chunk_count": len(plan.chunks),
            "total_row_count": sum(len(c) for c in plan.chunks),
            "truncated": False,
        }
        out["result"] = _chunk(plan, 0)
    return out


def _chunk(plan: Plan, index: int) -> dict[str, Any]:
    offset = sum(len(c) for c in plan.chunks[:index])
    chunk: dict[str, Any] = {
        "chunk_index": index,
        "row_offset": offset,
        "row_count": len(plan.chunks[index]),
        "data_array": plan.chunks[index],
    }
    if index + 1 < len(plan.chunks):
        chunk["next_chunk_index"] = index + 1
    return chunk
