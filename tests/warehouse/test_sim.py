"""WarehouseClient end to end against the simulated workspace, over real HTTP, faults injected."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from databricks_exporter.logs import LogfmtFormatter
from databricks_exporter.settings import FileSecret, Secret, Workspace
from databricks_exporter.sim import ThreadedWorkspace
from databricks_exporter.warehouse.client import WarehouseClient
from databricks_exporter.warehouse.errors import (
    AuthenticationError,
    InsufficientPermissionsError,
    StatementCanceledError,
    StatementFailedError,
    StatementTimeoutError,
    TableNotFoundError,
    ThrottledError,
    WarehouseError,
)
from databricks_exporter.warehouse.result import Parameter, Statement

PIPELINES = "system.lakeflow.pipeline_update_timeline"
SELECT = Statement("SELECT 1 AS one")
NUMBERS = Statement(
    "SELECT n, n * 1.5D AS half, CAST(n AS STRING) AS s, n % 2 = 0 AS even, "
    "CAST(n AS DECIMAL(10, 2)) AS dec, IF(n % 7 = 0, NULL, n) AS maybe "
    "FROM (SELECT explode(sequence(1, :count)) AS n)",
    {"count": Parameter(2000, "INT")},
)


@pytest.fixture(scope="module")
def workspace() -> Iterator[ThreadedWorkspace]:
    with ThreadedWorkspace(chunk_bytes=4096) as ws:
        yield ws


@pytest.fixture
def ws(workspace: ThreadedWorkspace) -> Iterator[ThreadedWorkspace]:
    """The module's workspace with no faults and zeroed counters."""
    workspace.faults.clear()
    workspace.reset_stats()
    yield workspace
    workspace.faults.clear()


@pytest.fixture
def connect(ws: ThreadedWorkspace) -> Iterator[Callable[..., WarehouseClient]]:
    made: list[WarehouseClient] = []

    def make(secret: Secret | None = None, **options: Any) -> WarehouseClient:
        workspace = Workspace(
            ws.url, ws.warehouse_id, ws.client_id, secret or Secret(ws.client_secret)
        )
        options.setdefault("statement_timeout", 5.0)
        options.setdefault("poll_interval", 0.02)
        options.setdefault("max_poll_interval", 0.25)
        client = WarehouseClient(workspace, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def poll_until(predicate: Callable[[], bool], deadline: float = 5.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("condition not met before the deadline")
        time.sleep(0.01)


def statements(ws: ThreadedWorkspace) -> dict[str, int]:
    counts: dict[str, int] = ws.stats()["statements"]
    return counts


# ----- results -------------------------------------------------------------------------


def test_typed_rows_over_many_chunks(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    result = connect().execute(NUMBERS, tags={"collector": "jobs"})

    assert [(c.name, c.type_name) for c in result.columns] == [
        ("n", "LONG"),
        ("half", "DOUBLE"),
        ("s", "STRING"),
        ("even", "BOOLEAN"),
        ("dec", "DECIMAL"),
        ("maybe", "LONG"),
    ]
    expected = [
        (n, n * 1.5, str(n), n % 2 == 0, float(n), None if n % 7 == 0 else n)
        for n in range(1, 2001)
    ]
    assert list(result.rows) == expected
    assert ws.stats()["chunks_served"] >= 2


def test_every_statement_carries_the_query_tags(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    connect().execute(SELECT, tags={"collector": "jobs"})

    by_tag = ws.stats()["by_tag"]
    assert by_tag["app"]["databricks-exporter"]["succeeded"] == 1
    assert by_tag["collector"]["jobs"]["succeeded"] == 1


# ----- tables the principal cannot read ------------------------------------------------


def test_hidden_table_is_table_not_found(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"hidden_tables": [PIPELINES]})
    with pytest.raises(TableNotFoundError) as caught:
        connect().execute(Statement(f"SELECT count(*) AS n FROM {PIPELINES}"))
    assert caught.value.table == PIPELINES


def test_denied_table_is_insufficient_permissions(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"denied_tables": [PIPELINES]})
    with pytest.raises(InsufficientPermissionsError) as caught:
        connect().execute(Statement(f"SELECT count(*) AS n FROM {PIPELINES}"))
    assert caught.value.table == PIPELINES


def test_bad_sql_is_statement_failed(connect: Callable[..., WarehouseClient]) -> None:
    with pytest.raises(StatementFailedError) as caught:
        connect().execute(Statement("SELECT no_such_column FROM (SELECT 1 AS one)"))
    assert caught.value.sql_state == "42703"


# ----- authentication ------------------------------------------------------------------


def test_token_refused_then_secret_file_fixed(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient], tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("rotated-away-secret\n", encoding="utf-8")
    client = connect(FileSecret(secret_file))

    with pytest.raises(AuthenticationError, match="invalid_client"):
        client.execute(SELECT)
    assert statements(ws)["received"] == 0

    secret_file.write_text(ws.client_secret + "\n", encoding="utf-8")
    assert client.execute(SELECT).rows == ((1,),)


def test_token_endpoint_fault_401(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"token": {"status": 401}})
    client = connect()
    with pytest.raises(AuthenticationError):
        client.execute(SELECT)

    ws.faults.clear()
    assert client.execute(SELECT).rows == ((1,),)


def test_token_endpoint_500_and_slowness_are_survived(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"token": {"status": 500, "count": 1}})
    assert connect().execute(SELECT).rows == ((1,),)

    ws.faults.set({"token": {"delay": 0.5}})
    assert connect().execute(SELECT).rows == ((1,),)


def test_api_401_rebuilds_the_client(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    client = connect()
    client.execute(SELECT)
    ws.workspace.revoke_tokens()

    assert client.execute(SELECT).rows == ((1,),)
    assert ws.stats()["tokens_issued"] == 2


def test_api_401_that_persists_is_an_authentication_error(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"api": {"status": 401}})
    with pytest.raises(AuthenticationError):
        connect().execute(SELECT)
    assert ws.stats()["tokens_issued"] == 2  # one rebuild, then give up


# ----- throttling, resets, cold start --------------------------------------------------


def test_retry_after_is_honoured(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"api": {"status": 429, "retry_after": 1, "count": 2}})
    started = time.monotonic()

    assert connect().execute(SELECT).rows == ((1,),)

    assert 2.0 <= time.monotonic() - started < 4.0
    assert statements(ws)["received"] == 1
    assert ws.stats()["faults_injected"]["api_429"] == 2


def test_retry_after_past_the_deadline_gives_up_at_once(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"api": {"status": 503, "retry_after": 30}})
    started = time.monotonic()

    with pytest.raises(ThrottledError) as caught:
        connect().execute(SELECT, timeout=3.0)

    assert time.monotonic() - started < 1.5
    assert caught.value.retry_after == 30.0
    assert ws.stats()["faults_injected"]["api_503"] == 1


@pytest.mark.parametrize("scope", ["api", "token"])
def test_connection_resets_are_retried(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient], scope: str
) -> None:
    ws.faults.set({"reset_connections": {"count": 2, "scope": scope}})
    assert connect().execute(SELECT).rows == ((1,),)
    assert ws.stats()["faults_injected"]["connection_reset"] == 2
    assert statements(ws)["received"] == 1


def test_cold_start_is_waited_through(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"warehouse_stopped": {"seconds": 1.5}})
    client = connect()
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(f"{v.tags.get('collector')}:{v.state}" for v in client.in_flight())
            done.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    try:
        assert client.execute(SELECT, tags={"collector": "jobs"}, timeout=4.0).rows == ((1,),)
    finally:
        done.set()
        watcher.join()

    assert time.monotonic() - started >= 1.5
    assert "jobs:PENDING" in seen
    assert client.in_flight() == []


# ----- deadline and cancellation -------------------------------------------------------


def test_statement_past_the_timeout_is_cancelled_on_the_warehouse(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"slow_statements": {"seconds": 30}})
    started = time.monotonic()

    with pytest.raises(StatementTimeoutError):
        connect().execute(SELECT, timeout=1.0)

    assert time.monotonic() - started < 2.0
    poll_until(lambda: statements(ws)["canceled"] == 1)
    assert ws.stats()["in_flight"] == 0


def test_cancel_all_stops_an_execute_in_flight(
    ws: ThreadedWorkspace, connect: Callable[..., WarehouseClient]
) -> None:
    ws.faults.set({"slow_statements": {"seconds": 30}})
    client = connect(statement_timeout=30.0)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            client.execute(SELECT, tags={"collector": "jobs"})
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    poll_until(lambda: ws.stats()["in_flight"] == 1)
    started = time.monotonic()
    client.cancel_all()
    thread.join(5)

    assert time.monotonic() - started < 1.0
    assert isinstance(raised[0], StatementCanceledError)
    poll_until(lambda: statements(ws)["canceled"] == 1)


# ----- secrets -------------------------------------------------------------------------


def test_secrets_never_reach_errors_or_log_lines(
    ws: ThreadedWorkspace,
    connect: Callable[..., WarehouseClient],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    wrong = "wrong-secret-4f1b9a"
    secret_file = tmp_path / "secret"
    secret_file.write_text(wrong, encoding="utf-8")
    client = connect(FileSecret(secret_file))
    messages: list[str] = []
    for faults in ({}, {"api": {"status": 403}}, {"api": {"status": 401}}):
        ws.faults.set(faults)
        with pytest.raises(WarehouseError) as caught:
            client.execute(SELECT)
        messages.append(str(caught.value))
        secret_file.write_text(ws.client_secret, encoding="utf-8")
    ws.faults.clear()
    client.execute(SELECT)

    formatter = LogfmtFormatter()
    text = "\n".join(messages + [formatter.format(record) for record in caplog.records])
    assert wrong not in text
    assert ws.client_secret not in text
    assert "Config:" not in "\n".join(messages)
