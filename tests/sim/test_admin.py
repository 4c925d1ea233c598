"""Admin endpoints: faults, counters, recent statements, the clock; loopback peers only."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import requests
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import QueryTag

from databricks_exporter.sim import ThreadedWorkspace
from databricks_exporter.sim.admin import loopback_only

from .helpers import rows, run_sql


def admin(ws: ThreadedWorkspace, method: str, path: str, body: Any = None) -> requests.Response:
    """Call an admin endpoint."""
    return requests.request(method, f"{ws.url}/admin/{path}", json=body, timeout=10)


def test_faults_are_replaced_merged_read_and_cleared(ws: ThreadedWorkspace) -> None:
    reply = admin(ws, "POST", "faults", {"api": {"status": 503, "count": 2}})
    assert reply.json() == {"api": {"status": 503, "retry_after": 1, "count": 2}}
    admin(ws, "PATCH", "faults", {"hidden_tables": ["system.billing.usage"]})
    assert admin(ws, "GET", "faults").json() == {
        "api": {"status": 503, "retry_after": 1, "count": 2},
        "hidden_tables": ["system.billing.usage"],
    }
    admin(ws, "PATCH", "faults", {"api": None})
    assert admin(ws, "GET", "faults").json() == {"hidden_tables": ["system.billing.usage"]}
    assert admin(ws, "DELETE", "faults").json() == {}
    assert ws.faults.spec.hidden_tables == frozenset()


def test_bad_fault_json_is_a_clear_400(ws: ThreadedWorkspace) -> None:
    reply = admin(ws, "POST", "faults", {"api": {"status": 418}})
    assert reply.status_code == 400
    assert "api.status" in reply.json()["error"]
    assert admin(ws, "POST", "faults", {"meteor": {}}).status_code == 400
    assert admin(ws, "POST", "faults", [1]).status_code == 400


def test_stats_count_statements_by_outcome_and_tag(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    assert admin(ws, "POST", "reset-stats").json()["statements"]["received"] == 0
    tags = [QueryTag(key="collector", value="billing")]
    run_sql(client, ws, "SELECT 1", query_tags=tags)
    run_sql(client, ws, "SELECT * FROM system.nope.nope", query_tags=tags)
    stats = admin(ws, "GET", "stats").json()
    assert stats["statements"] == {
        "received": 2,
        "succeeded": 1,
        "failed": 1,
        "canceled": 0,
        "rejected": 0,
        "closed": 0,
    }
    billing = stats["by_tag"]["collector"]["billing"]
    assert (billing["received"], billing["succeeded"], billing["failed"]) == (2, 1, 1)
    assert stats["engine_seconds"] > 0
    assert stats["in_flight"] == 0
    assert stats["peak_in_flight"] >= 1
    assert stats["api_requests"] >= 2
    assert set(stats) >= {"tokens_issued", "token_requests_refused", "faults_injected"}


def test_recent_statements_are_listed_newest_first(
    ws: ThreadedWorkspace, client: WorkspaceClient
) -> None:
    run_sql(client, ws, "SELECT 'first'")
    run_sql(client, ws, "SELECT 'second'", query_tags=[QueryTag(key="k", value="v")])
    listed = admin(ws, "GET", "statements?limit=2").json()
    assert [s["statement"] for s in listed] == ["SELECT 'second'", "SELECT 'first'"]
    assert listed[0]["query_tags"] == {"k": "v"}
    assert listed[0]["state"] == "SUCCEEDED"
    assert listed[0]["row_count"] == 1


def test_the_clock_can_be_set_and_advanced(ws: ThreadedWorkspace, client: WorkspaceClient) -> None:
    start = ws.now()
    try:
        moment = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        assert admin(ws, "POST", "clock", {"now": "2030-01-02T03:04:05Z"}).json() == {
            "now": moment.isoformat(),
            "frozen": True,
        }
        admin(ws, "POST", "clock", {"advance": 60})
        assert rows(run_sql(client, ws, "SELECT current_timestamp()")) == [
            ["2030-01-02T03:05:05.000Z"]
        ]
        assert admin(ws, "POST", "clock", {"advance": "soon"}).status_code == 400
    finally:
        ws.set_now(start)


async def test_admin_refuses_peers_that_are_not_loopback() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    for peer, expected in ((("10.1.2.3", 5555), 403), (("127.0.0.1", 5555), 200)):
        transport = mock.Mock()
        transport.get_extra_info.return_value = peer
        request = make_mocked_request("GET", "/admin/stats", transport=transport)
        response = await loopback_only(request, handler)
        assert response.status == expected
