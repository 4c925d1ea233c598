"""WarehouseClient against the scriptable stub: results, failures, retries, cancellation."""

from __future__ import annotations

import math
import socket
import threading
import time
from pathlib import Path

import pytest

from databricks_exporter.logs import LogfmtFormatter
from databricks_exporter.settings import FileSecret
from databricks_exporter.warehouse.errors import (
    AuthenticationError,
    ConnectionFailedError,
    InsufficientPermissionsError,
    ServerError,
    StatementCanceledError,
    StatementFailedError,
    StatementTimeoutError,
    TableNotFoundError,
    ThrottledError,
    WarehouseError,
)
from databricks_exporter.warehouse.result import Parameter, Statement

from .conftest import ClientFactory
from .stub import Plan, Reply, Stub

SELECT = Statement("SELECT 1")
API = "/api/2.0/sql/statements"
TOKEN = "/oidc/v1/token"


def wait_until(condition: object, timeout: float = 5.0) -> None:
    """Poll `condition()` until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


# ----- results -------------------------------------------------------------------------


def test_typed_values_over_several_chunks(stub: Stub, make_client: ClientFactory) -> None:
    columns = [
        ("l", "LONG"),
        ("i", "INT"),
        ("d", "DOUBLE"),
        ("dec", "DECIMAL"),
        ("b", "BOOLEAN"),
        ("s", "STRING"),
        ("ts", "TIMESTAMP"),
        ("n", "NULL"),
        ("iv", "INTERVAL"),
    ]
    row: list[str | None] = [
        "9007199254740993",
        "-3",
        "1.5",
        "12.25",
        "true",
        'a "q"\nb',
        "2026-01-01T00:00:00Z",
    ]
    chunks: list[list[list[str | None]]] = [
        [[*row, None, "1 day"]],
        [["1", "2", "NaN", "0.1", "false", "", None, None, None]],
        [[None] * 9, ["0", "0", "-Infinity", "3", "TRUE", "x", None, None, None]],
    ]
    stub.plans["SELECT typed"] = Plan(columns=columns, chunks=chunks)

    result = make_client().execute(Statement("SELECT typed"))

    assert [c.name for c in result.columns] == [name for name, _ in columns]
    assert result.rows[0] == (
        9007199254740993,
        -3,
        1.5,
        12.25,
        True,
        'a "q"\nb',
        "2026-01-01T00:00:00Z",
        None,
        "1 day",
    )
    assert math.isnan(result.rows[1][2])  # type: ignore[arg-type]
    assert result.rows[2] == (None,) * 9
    assert result.rows[3][2] == -math.inf
    assert result.rows[3][4] is True
    assert len(result.rows) == 4
    assert stub.count("GET", f"{API}/stmt-1/result/chunks/") == 2


def test_polls_through_pending_and_running(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT slow"] = Plan(polls=4)

    result = make_client().execute(Statement("SELECT slow"))

    assert result.rows == ((1,),)
    assert stub.count("GET", f"{API}/stmt-1") == 4


def test_submission_carries_tags_parameters_and_async_wait(
    stub: Stub, make_client: ClientFactory
) -> None:
    statement = Statement(
        "SELECT :h, :flag, :name, :missing",
        {
            "h": Parameter(24, "INT"),
            "flag": Parameter(True, "BOOLEAN"),
            "name": Parameter("x"),
            "missing": Parameter(None),
        },
    )

    many = {f"k{i}": str(i) for i in range(25)}
    make_client().execute(statement, tags={"collector": "jobs", "app": "spoofed", **many})

    body = stub.submissions[0]
    assert body["query_tags"][:2] == [
        {"key": "app", "value": "databricks-exporter"},
        {"key": "collector", "value": "jobs"},
    ]
    assert len(body["query_tags"]) == 20  # the API keeps 20; ours comes first
    assert body["parameters"] == [
        {"name": "h", "type": "INT", "value": "24"},
        {"name": "flag", "type": "BOOLEAN", "value": "true"},
        {"name": "name", "type": "STRING", "value": "x"},
        {"name": "missing", "type": "STRING"},
    ]
    assert body["wait_timeout"] == "0s"
    assert body["warehouse_id"] == "wh-1"
    assert body["disposition"] == "INLINE"
    assert body["format"] == "JSON_ARRAY"


def test_wait_timeout_is_sent_when_the_deadline_allows(
    stub: Stub, make_client: ClientFactory
) -> None:
    client = make_client(wait_timeout_seconds=5, statement_timeout=10.0)

    client.execute(SELECT)
    client.execute(SELECT, timeout=3.0)

    assert [s["wait_timeout"] for s in stub.submissions] == ["5s", "0s"]


def test_token_is_cached_between_statements(stub: Stub, make_client: ClientFactory) -> None:
    client = make_client()
    for _ in range(3):
        client.execute(SELECT)
    assert stub.count("POST", TOKEN) == 1


def test_works_without_host_metadata(stub: Stub, make_client: ClientFactory) -> None:
    stub.metadata = False
    assert make_client().execute(SELECT).rows == ((1,),)


def test_concurrent_statements_share_one_client(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT slow"] = Plan(polls=3)
    client = make_client()
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.execute(Statement("SELECT slow"))))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4
    assert stub.count("POST", TOKEN) == 1
    assert stub.count("GET", "/.well-known/databricks-config") == 1


# ----- FAILED statements ---------------------------------------------------------------


def _failed(code: str, message: str, sql_state: str | None = None) -> Plan:
    return Plan(state="FAILED", error={"error_code": code, "message": message}, sql_state=sql_state)


@pytest.mark.parametrize(
    ("plan", "error_type", "table"),
    [
        (
            _failed(
                "BAD_REQUEST",
                "[TABLE_OR_VIEW_NOT_FOUND] The table or view `system`.`lakeflow`."
                "`pipeline_update_timeline` cannot be found. Verify the spelling. SQLSTATE: 42P01",
                "42P01",
            ),
            TableNotFoundError,
            "system.lakeflow.pipeline_update_timeline",
        ),
        (
            _failed(
                "BAD_REQUEST",
                "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have SELECT "
                "on Table 'system.query.history'. SQLSTATE: 42501",
                "42501",
            ),
            InsufficientPermissionsError,
            "system.query.history",
        ),
        (
            _failed(
                "BAD_REQUEST",
                "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have "
                "USE SCHEMA on Schema 'system.lakeflow'.",
            ),
            InsufficientPermissionsError,
            None,
        ),
        (_failed("DEADLINE_EXCEEDED", "query timed out"), StatementTimeoutError, None),
        (_failed("CANCELLED", "cancelled by user"), StatementCanceledError, None),
        (Plan(state="CANCELED"), StatementCanceledError, None),
    ],
)
def test_failed_statements_map_to_the_hierarchy(
    stub: Stub,
    make_client: ClientFactory,
    plan: Plan,
    error_type: type[WarehouseError],
    table: str | None,
) -> None:
    stub.plans["SELECT bad"] = plan
    with pytest.raises(error_type) as caught:
        make_client().execute(Statement("SELECT bad"))
    assert getattr(caught.value, "table", None) == table
    assert caught.value.statement_id == "stmt-1"


def test_other_failures_keep_error_code_and_sql_state(
    stub: Stub, make_client: ClientFactory
) -> None:
    message = "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `x` cannot be resolved. SQLSTATE: 42703"
    stub.plans["SELECT x"] = _failed("BAD_REQUEST", message, "42703")
    with pytest.raises(StatementFailedError) as caught:
        make_client().execute(Statement("SELECT x"))
    assert caught.value.error_code == "BAD_REQUEST"
    assert caught.value.sql_state == "42703"
    assert "UNRESOLVED_COLUMN" in str(caught.value)


# ----- authentication ------------------------------------------------------------------


def test_rotated_secret_file_recovers_without_a_new_client(
    stub: Stub, make_client: ClientFactory, secret_file: Path
) -> None:
    client = make_client(FileSecret(secret_file))
    with pytest.raises(AuthenticationError, match="invalid_client"):
        client.execute(SELECT)
    assert stub.count("POST", API) == 0

    secret_file.write_text(stub.secret + "\n", encoding="utf-8")
    assert client.execute(SELECT).rows == ((1,),)


def test_missing_secret_file_is_an_authentication_error(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    with pytest.raises(AuthenticationError, match="cannot read the client secret"):
        make_client(FileSecret(tmp_path / "absent")).execute(SELECT)


def test_revoked_token_is_replaced_once(stub: Stub, make_client: ClientFactory) -> None:
    client = make_client()
    client.execute(SELECT)
    stub.tokens.clear()  # revoked: the API answers 401 to the cached token

    assert client.execute(SELECT).rows == ((1,),)
    assert stub.count("POST", TOKEN) == 2


def test_api_401_every_time_is_an_authentication_error(
    stub: Stub, make_client: ClientFactory
) -> None:
    unauthenticated = Reply(401, {"error_code": "UNAUTHENTICATED", "message": "no"})
    stub.api_replies.extend([unauthenticated, unauthenticated])
    with pytest.raises(AuthenticationError, match="UNAUTHENTICATED"):
        make_client().execute(SELECT)
    assert stub.count("POST", API) == 2  # one retry with a rebuilt client, then give up
    assert stub.count("POST", TOKEN) == 2


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, "<html>oops</html>"),
        Reply(503, {"error": "temporarily_unavailable"}),
        Reply(200, {"token_type": "Bearer"}),
    ],
)
def test_token_endpoint_hiccups_are_retried(
    stub: Stub, make_client: ClientFactory, reply: Reply
) -> None:
    stub.token_replies.append(reply)
    assert make_client().execute(SELECT).rows == ((1,),)
    assert stub.count("POST", TOKEN) == 2


def test_permission_denied_on_the_api(stub: Stub, make_client: ClientFactory) -> None:
    stub.api_replies.append(
        Reply(403, {"error_code": "PERMISSION_DENIED", "message": "no CAN USE on warehouse"})
    )
    with pytest.raises(InsufficientPermissionsError, match="CAN USE") as caught:
        make_client().execute(SELECT)
    assert "Config:" not in str(caught.value)


# ----- throttling, server and network errors -------------------------------------------


def test_retry_after_is_honoured(stub: Stub, make_client: ClientFactory) -> None:
    throttled = Reply(429, {"error_code": "REQUEST_LIMIT_EXCEEDED"}, {"Retry-After": "1"})
    stub.api_replies.extend([throttled, throttled])
    started = time.monotonic()

    make_client().execute(SELECT)

    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 4.0
    assert stub.count("POST", API) == 3


def test_retry_after_beyond_the_deadline_fails_at_once(
    stub: Stub, make_client: ClientFactory
) -> None:
    stub.api_replies.append(
        Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, {"Retry-After": "30"})
    )
    started = time.monotonic()

    with pytest.raises(ThrottledError) as caught:
        make_client().execute(SELECT, timeout=3.0)

    assert time.monotonic() - started < 1.5
    assert caught.value.retry_after == 30.0
    assert stub.count("POST", API) == 1


def test_retry_after_zero_is_not_a_tight_loop(stub: Stub, make_client: ClientFactory) -> None:
    stub.api_replies.append(
        Reply(429, {"error_code": "REQUEST_LIMIT_EXCEEDED"}, {"Retry-After": "0"})
    )
    started = time.monotonic()
    make_client().execute(SELECT)
    assert time.monotonic() - started >= 1.0


def test_throttled_poll_gives_up_and_cancels_the_statement(
    stub: Stub, make_client: ClientFactory
) -> None:
    stub.plans["SELECT slow"] = Plan(polls=5)
    stub.api_replies.append(
        Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, {"Retry-After": "60"}, method="GET")
    )
    with pytest.raises(ThrottledError) as caught:
        make_client().execute(Statement("SELECT slow"))
    assert caught.value.statement_id == "stmt-1"
    assert stub.statements["stmt-1"].canceled


def test_server_error_on_submit_is_not_retried(stub: Stub, make_client: ClientFactory) -> None:
    stub.api_replies.append(Reply(500, {"error_code": "INTERNAL_ERROR", "message": "boom"}))
    with pytest.raises(ServerError, match="boom"):
        make_client().execute(SELECT)
    assert stub.count("POST", API) == 1


def test_server_error_while_polling_is_retried(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT slow"] = Plan(polls=1)
    bad_gateway = Reply(502, {"error_code": "BAD_GATEWAY", "message": "gw"}, method="GET")
    stub.api_replies.extend([bad_gateway, bad_gateway])

    assert make_client().execute(Statement("SELECT slow")).rows == ((1,),)
    assert stub.count("GET", f"{API}/stmt-1") == 3


def test_connection_reset_is_retried(stub: Stub, make_client: ClientFactory) -> None:
    stub.reset_next = 2
    assert make_client().execute(SELECT).rows == ((1,),)
    assert stub.count("POST", API) == 3


def test_closed_port_fails_within_the_deadline(make_client: ClientFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(host=f"http://127.0.0.1:{port}")
    started = time.monotonic()

    with pytest.raises(ConnectionFailedError, match="refused"):
        client.execute(SELECT, timeout=2.0)

    assert time.monotonic() - started < 3.0


def test_silent_server_fails_by_the_deadline(make_client: ClientFactory) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        client = make_client(host=f"http://127.0.0.1:{listener.getsockname()[1]}")
        started = time.monotonic()

        with pytest.raises(ConnectionFailedError, match="timed out"):
            client.execute(SELECT, timeout=2.0)

        assert time.monotonic() - started < 3.5


# ----- deadline and cancellation -------------------------------------------------------


def test_deadline_cancels_the_statement(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    started = time.monotonic()

    with pytest.raises(StatementTimeoutError) as caught:
        make_client().execute(Statement("SELECT forever"), timeout=1.0)

    assert 1.0 <= time.monotonic() - started < 2.0
    assert caught.value.statement_id == "stmt-1"
    assert stub.statements["stmt-1"].canceled
    assert stub.count("POST", f"{API}/stmt-1/cancel") == 1


def test_cancel_all_stops_an_execute_promptly(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    client = make_client(statement_timeout=30.0)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.execute(Statement("SELECT forever"))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: "stmt-1" in stub.statements)
    started = time.monotonic()
    client.cancel_all()
    thread.join(5)

    assert time.monotonic() - started < 1.0
    assert isinstance(errors[0], StatementCanceledError)
    assert stub.statements["stmt-1"].canceled


def test_closed_client_refuses_statements(make_client: ClientFactory) -> None:
    client = make_client()
    client.close()
    with pytest.raises(StatementCanceledError, match="closed"):
        client.execute(SELECT)


# ----- secrets -------------------------------------------------------------------------


def test_secret_and_token_never_in_errors_or_logs(
    stub: Stub, make_client: ClientFactory, debug_logs: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    client.execute(SELECT)
    token = next(iter(stub.tokens))
    echo = f"bad secret {stub.secret} token {token}"
    stub.api_replies.append(Reply(403, {"error_code": "PERMISSION_DENIED", "message": echo}))
    stub.token_replies.append(
        Reply(401, {"error": "invalid_client", "error_description": f"got {stub.secret}"})
    )
    messages: list[str] = []
    for _ in range(2):
        with pytest.raises(WarehouseError) as caught:
            client.execute(SELECT)
        messages.append(str(caught.value))
        stub.tokens.clear()  # the second statement needs a new token: the endpoint refuses
    formatter = LogfmtFormatter()
    lines = [formatter.format(record) for record in debug_logs.records]
    ours = [line for line in lines if "logger=warehouse" in line]
    assert ours, "the client logs at debug"
    assert not [text for text in messages + lines if stub.secret in text]
    assert not [text for text in messages + ours if token in text]
    assert "Config:" not in "\n".join(messages)
    assert messages[0].count("***") == 2
