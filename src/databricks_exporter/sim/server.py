"""The simulated workspace's HTTP API: OIDC, the Statement Execution API, fault middleware.

Errors the API answers before running anything use Databricks' REST error JSON
`{"error_code", "message"}`:

* no, unknown or expired bearer token: 401 UNAUTHENTICATED (no token refresh is implied);
* a bad request field (wait_timeout, disposition, format, limits, parameters, query_tags):
  400 INVALID_PARAMETER_VALUE; a body that is not JSON: 400 MALFORMED_REQUEST;
* a warehouse id other than the workspace's one: 404 RESOURCE_DOES_NOT_EXIST (Databricks'
  exact answer is not documented; this is what the SDK maps to `ResourceDoesNotExist`);
* an unknown or purged statement id: 404 RESOURCE_DOES_NOT_EXIST; chunks of a statement that
  is not SUCCEEDED (FAILED, CANCELED, CLOSED, still running): 400 INVALID_STATE.

SQL errors are not HTTP errors: the statement is FAILED (HTTP 200) with `status.error`
(`error_code` BAD_REQUEST, a bracketed message) and `status.sql_state`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

from aiohttp import web

from databricks_exporter.logs import get_logger
from databricks_exporter.sim import responses
from databricks_exporter.sim.auth import parse_basic
from databricks_exporter.sim.context import CONTEXT, Context, Handler
from databricks_exporter.sim.faults import ApiFault, TokenFault
from databricks_exporter.sim.statements import (
    RequestError,
    Statement,
    parse_request,
)

log = get_logger("sim.server")

API_PREFIX = "/api/"
TOKEN_PATH = "/oidc/v1/token"  # noqa: S105 - a URL path, not a secret
MAX_BODY = 17 * 1024 * 1024


def _ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def api_error(status: int, error_code: str, message: str, **headers: str) -> web.Response:
    """A Databricks REST error response."""
    return web.json_response(
        responses.error_body(error_code, message), status=status, headers=headers
    )


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def host_metadata(request: web.Request) -> web.Response:
    """`GET /.well-known/databricks-config`: where OIDC lives and which workspace this is."""
    ctx = _ctx(request)
    return web.json_response(
        {
            "oidc_endpoint": f"{_base_url(request)}/oidc",
            "workspace_id": ctx.workspace_id,
            "cloud": "aws",
        }
    )


async def oidc_discovery(request: web.Request) -> web.Response:
    """`GET /oidc/.well-known/oauth-authorization-server`."""
    base = _base_url(request)
    return web.json_response(
        {
            "issuer": f"{base}/oidc",
            "authorization_endpoint": f"{base}/oidc/v1/authorize",
            "token_endpoint": f"{base}{TOKEN_PATH}",
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["all-apis", "sql", "offline_access"],
        }
    )


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def _token_fault(ctx: Context) -> web.Response | None:
    fault: TokenFault | None = ctx.faults.take("token")
    if fault is None:
        return None
    if fault.delay:
        ctx.stats.fault("token_slow")
        await asyncio.sleep(fault.delay)
    if fault.status == 401:
        ctx.stats.fault("token_401")
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    if fault.status == 500:
        ctx.stats.fault("token_500")
        return web.Response(
            status=500,
            text="<html><body>Internal Server Error</body></html>",
            content_type="text/html",
        )
    return None


async def token(request: web.Request) -> web.Response:
    """`POST /oidc/v1/token`: client credentials by HTTP Basic (or form fields)."""
    ctx = _ctx(request)
    refused = await _token_fault(ctx)
    if refused is None:
        refused = await _check_client(request, ctx)
    if refused is not None:
        ctx.stats.count("token_requests_refused")
        return refused
    ctx.stats.count("tokens_issued")
    ttl = ctx.tokens.ttl
    return web.json_response(
        {
            "access_token": ctx.tokens.issue(),
            "token_type": "Bearer",
            "expires_in": max(0, int(ttl)),
            "scope": "all-apis",
        }
    )


async def _check_client(request: web.Request, ctx: Context) -> web.Response | None:
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
    given = parse_basic(request.headers.get("Authorization"))
    if given is None:
        given = (str(form.get("client_id", "")), str(form.get("client_secret", "")))
    if not ctx.credentials.matches(*given):
        log.info("token request refused", reason="invalid_client", client_id=given[0])
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    return None


def _reset_scope(path: str) -> str | None:
    if path.startswith(API_PREFIX):
        return "api"
    return "token" if path == TOKEN_PATH else None


def _abort(request: web.Request) -> None:
    """Drop the TCP connection with a reset instead of an answer."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@web.middleware
async def reset_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Abort connections while a `reset_connections` fault is on."""
    ctx = _ctx(request)
    scope = _reset_scope(request.path)
    fault = ctx.faults.spec.reset_connections
    applies = scope is not None and fault is not None and fault.scope in (scope, "all")
    if applies and ctx.faults.take("reset_connections") is not None:
        ctx.stats.fault("connection_reset")
        _abort(request)
        return web.Response(status=499)  # never written: the transport is gone
    return await handler(request)


def _injected(fault: ApiFault, ctx: Context) -> web.Response:
    ctx.stats.fault(f"api_{fault.status}")
    if fault.status == 401:
        return api_error(401, "UNAUTHENTICATED", "Invalid access token. (injected fault)")
    if fault.status == 403:
        return api_error(
            403,
            "PERMISSION_DENIED",
            f"You do not have permission to use the SQL warehouse {ctx.warehouse_id}. "
            "(injected fault)",
        )
    retry = {"Retry-After": str(fault.retry_after)}
    if fault.status == 429:
        return api_error(
            429, "REQUEST_LIMIT_EXCEEDED", "Too many requests. Please try again later.", **retry
        )
    return api_error(
        503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable.", **retry
    )


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Injected API errors, then the bearer-token check, for every `/api/` call."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    ctx = _ctx(request)
    ctx.stats.count("api_requests")
    fault = ctx.faults.take("api")
    if fault is not None:
        response: web.StreamResponse = _injected(fault, ctx)
    elif not ctx.tokens.valid(request.headers.get("Authorization")):
        response = api_error(401, "UNAUTHENTICATED", "Invalid access token.")
    else:
        response = await handler(request)
    if response.status >= 400:
        ctx.stats.count("api_requests_refused")
    return response


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestError(
            400, "MALFORMED_REQUEST", "The request body is not valid JSON."
        ) from None


async def execute(request: web.Request) -> web.Response:
    """`POST /api/2.0/sql/statements`."""
    ctx = _ctx(request)
    try:
        parsed = parse_request(await _json_body(request), client=_client(request))
    except RequestError as error:
        ctx.stats.count("rejected")
        return api_error(error.status, error.error_code, error.message)
    if parsed.warehouse_id != ctx.warehouse_id:
        ctx.stats.count("rejected")
        return api_error(
            404, "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {parsed.warehouse_id} does not exist."
        )
    statement = ctx.runner.submit(parsed)
    finished = parsed.wait_timeout == 0 or await ctx.runner.wait(statement, parsed.wait_timeout)
    if not finished and parsed.on_wait_timeout == "CANCEL":
        ctx.runner.cancel(statement)
        await statement.done.wait()
    return web.json_response(responses.statement(statement))


def _client(request: web.Request) -> str | None:
    agent = request.headers.get("User-Agent", "")
    return agent.split(" ", 1)[0] or None


def _statement(request: web.Request) -> Statement:
    statement_id = request.match_info["statement_id"]
    statement = _ctx(request).store.get(statement_id)
    if statement is None:
        raise RequestError(
            404, "RESOURCE_DOES_NOT_EXIST", f"Statement {statement_id} does not exist."
        )
    return statement


async def get_statement(request: web.Request) -> web.Response:
    """`GET /api/2.0/sql/statements/{statement_id}`."""
    return web.json_response(responses.statement(_statement(request)))


async def cancel(request: web.Request) -> web.Response:
    """`POST /api/2.0/sql/statements/{statement_id}/cancel`."""
    _ctx(request).runner.cancel(_statement(request))
    return web.json_response({})


async def get_chunk(request: web.Request) -> web.Response:
    """`GET /api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}`."""
    statement = _statement(request)
    result = statement.result
    if statement.state != "SUCCEEDED" or result is None:
        raise RequestError(
            400,
            "INVALID_STATE",
            f"Statement {statement.id} is {statement.state}; it has no result to fetch.",
        )
    text = request.match_info["chunk_index"]
    if not text.isdigit() or int(text) >= len(statement.chunks):
        raise RequestError(400, "INVALID_PARAMETER_VALUE", f"Chunk index {text} is out of range.")
    _ctx(request).stats.count("chunks_served")
    return web.json_response(responses.chunk(statement, result, int(text)))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """RequestError, and unknown API paths, become Databricks' error JSON."""
    try:
        return await handler(request)
    except RequestError as error:
        return api_error(error.status, error.error_code, error.message)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as error:
        if not request.path.startswith(API_PREFIX):
            raise
        message = f"No API found for '{request.method} {request.path}'"
        return api_error(error.status, "ENDPOINT_NOT_FOUND", message)


API_MIDDLEWARES = (reset_middleware, api_middleware, error_middleware)


def add_api_routes(app: web.Application) -> None:
    """The public endpoints databricks-sdk calls (with `API_MIDDLEWARES`)."""
    app.router.add_get("/.well-known/databricks-config", host_metadata)
    app.router.add_get("/oidc/.well-known/oauth-authorization-server", oidc_discovery)
    app.router.add_post(TOKEN_PATH, token)
    base = "/api/2.0/sql/statements"
    app.router.add_post(base, execute)
    app.router.add_post(f"{base}/", execute)
    app.router.add_get(base + "/{statement_id}", get_statement)
    app.router.add_post(base + "/{statement_id}/cancel", cancel)
    app.router.add_get(base + "/{statement_id}/result/chunks/{chunk_index}", get_chunk)
