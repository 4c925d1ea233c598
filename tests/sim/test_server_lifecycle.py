"""Lifecycle of results and tokens, and the workspace object itself."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
import requests
from databricks.sdk.errors import InvalidState, Unauthenticated
from databricks.sdk.service.sql import StatementState

from databricks_exporter.sim import SimulatedWorkspace, ThreadedWorkspace

from .helpers import poll_until, run_sql, sdk_client, state


@pytest.fixture(scope="module")
def short_lived() -> Iterator[ThreadedWorkspace]:
    """Results closed after 0.2 s and tokens valid for 1 s."""
    with ThreadedWorkspace(result_ttl=0.2, token_ttl=1, generate=False) as ws:
        yield ws


def test_results_close_after_their_lifetime(short_lived: ThreadedWorkspace) -> None:
    client = sdk_client(short_lived)
    statement_id = run_sql(client, short_lived, "SELECT 1").statement_id or ""
    poll_until(
        lambda: (
            state(client.statement_execution.get_statement(statement_id)) == StatementState.CLOSED
        )
    )
    with pytest.raises(InvalidState):
        client.statement_execution.get_statement_result_chunk_n(statement_id, 0)
    assert short_lived.stats()["statements"]["closed"] >= 1


def _token(ws: ThreadedWorkspace) -> str:
    reply = requests.post(
        f"{ws.url}/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(ws.client_id, ws.client_secret),
        timeout=10,
    )
    reply.raise_for_status()
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1
    return str(body["access_token"])


def test_tokens_expire(short_lived: ThreadedWorkspace) -> None:
    headers = {"Authorization": f"Bearer {_token(short_lived)}"}
    url = f"{short_lived.url}/api/2.0/sql/statements/unknown"
    assert requests.get(url, headers=headers, timeout=10).status_code == 404
    poll_until(lambda: requests.get(url, headers=headers, timeout=10).status_code == 401)


def test_the_sdk_renews_short_lived_tokens(short_lived: ThreadedWorkspace) -> None:
    client = sdk_client(short_lived)
    before = short_lived.stats()["tokens_issued"]
    for _ in range(3):
        assert state(run_sql(client, short_lived, "SELECT 1")) == StatementState.SUCCEEDED
    assert short_lived.stats()["tokens_issued"] - before >= 2


def test_token_endpoint_wants_client_credentials(short_lived: ThreadedWorkspace) -> None:
    reply = requests.post(
        f"{short_lived.url}/oidc/v1/token",
        data={"grant_type": "password"},
        auth=(short_lived.client_id, short_lived.client_secret),
        timeout=10,
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


def test_revoked_tokens_are_unauthenticated() -> None:
    with ThreadedWorkspace(generate=False) as ws:
        client = sdk_client(ws)
        run_sql(client, ws, "SELECT 1")
        ws.workspace.revoke_tokens()
        with pytest.raises(Unauthenticated):
            run_sql(client, ws, "SELECT 1")


def test_non_loopback_addresses_need_allow_remote() -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        SimulatedWorkspace(host="0.0.0.0")
    SimulatedWorkspace(host="0.0.0.0", allow_remote=True)  # constructing does not listen


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="small, large"):
        SimulatedWorkspace(scale="huge")


async def test_the_async_workspace_serves_host_metadata_and_discovery() -> None:
    async with (
        SimulatedWorkspace(generate=False) as ws,
        aiohttp.ClientSession() as session,
    ):
        async with session.get(f"{ws.url}/.well-known/databricks-config") as reply:
            metadata = await reply.json()
        async with session.get(
            f"{metadata['oidc_endpoint']}/.well-known/oauth-authorization-server"
        ) as reply:
            discovery = await reply.json()
    assert metadata == {
        "oidc_endpoint": f"{ws.url}/oidc",
        "workspace_id": ws.workspace_id,
        "cloud": "aws",
    }
    assert discovery["token_endpoint"] == f"{ws.url}/oidc/v1/token"
    assert ws.http_path == f"/sql/1.0/warehouses/{ws.warehouse_id}"
