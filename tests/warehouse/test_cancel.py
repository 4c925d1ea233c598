"""Cancelling on the warehouse survives a blip: a statement must not run on, billed, unseen."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from databricks_exporter.warehouse.cancel import CANCEL_ATTEMPTS
from databricks_exporter.warehouse.errors import (
    InsufficientPermissionsError,
    StatementCanceledError,
    StatementTimeoutError,
    ThrottledError,
    WarehouseAccessError,
)
from databricks_exporter.warehouse.result import Statement

from .conftest import ClientFactory
from .stub import Plan, Reply, Stub

FOREVER = Statement("SELECT forever")
SUBMIT = "/api/2.0/sql/statements"
CANCEL = f"{SUBMIT}/stmt-1/cancel"


def when_submitted(stub: Stub, then: object) -> threading.Thread:
    """Run `then()` on a thread as soon as the stub holds the statement."""

    def watch() -> None:
        deadline = time.monotonic() + 5
        while "stmt-1" not in stub.statements and time.monotonic() < deadline:
            time.sleep(0.005)
        then()  # type: ignore[operator]

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_cancel_lost_to_a_blip_is_sent_again(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    refusal = Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, method="POST")
    watcher = when_submitted(stub, lambda: stub.api_replies.append(refusal))

    with pytest.raises(StatementTimeoutError):
        make_client().execute(FOREVER, timeout=1.0)

    watcher.join()
    assert stub.count("POST", CANCEL) == 2
    assert stub.statements["stmt-1"].canceled


def test_a_cancel_that_keeps_failing_gives_up_with_one_warning(
    stub: Stub, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    refusal = Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, method="POST")
    watcher = when_submitted(stub, lambda: stub.api_replies.extend([refusal] * 10))
    caplog.set_level(logging.DEBUG, logger="databricks_exporter")
    started = time.monotonic()

    with pytest.raises(StatementTimeoutError):
        make_client().execute(FOREVER, timeout=1.0)

    watcher.join()
    assert time.monotonic() - started < 3.0
    assert stub.count("POST", CANCEL) == CANCEL_ATTEMPTS
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "cancel failed; the caller's next statement will try again"
    ]


def test_cancel_all_still_returns_promptly(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    client = make_client(statement_timeout=30.0)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.execute(FOREVER)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    when_submitted(stub, lambda: None).join()
    stub.api_replies.append(Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, method="POST"))
    started = time.monotonic()
    client.cancel_all()
    thread.join(5)

    assert time.monotonic() - started < 1.5
    assert isinstance(errors[0], StatementCanceledError)
    assert stub.statements["stmt-1"].canceled
    assert stub.count("POST", CANCEL) == 2


def test_api_403_is_a_warehouse_access_error(stub: Stub, make_client: ClientFactory) -> None:
    stub.api_replies.append(Reply(403, {"error_code": "PERMISSION_DENIED", "message": "no"}))
    with pytest.raises(WarehouseAccessError, match="CAN USE on the SQL warehouse") as caught:
        make_client().execute(Statement("SELECT 1"))
    assert isinstance(caught.value, InsufficientPermissionsError)
    assert caught.value.kind == "permission"
    assert caught.value.table is None


JOBS = {"collector": "jobs"}


def first_canceled(stub: Stub) -> bool:
    return stub.statements["stmt-1"].canceled


def refuse_cancels(stub: Stub, times: int) -> None:
    stub.api_replies.extend(
        [Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE"}, method="POST")] * times
    )


def test_the_callers_next_statement_first_ends_one_whose_cancel_was_refused(
    stub: Stub, make_client: ClientFactory
) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    client = make_client()
    watcher = when_submitted(stub, lambda: refuse_cancels(stub, CANCEL_ATTEMPTS))
    with pytest.raises(StatementTimeoutError):
        client.execute(FOREVER, tags=JOBS, timeout=1.0)
    watcher.join()
    assert not first_canceled(stub), "still running on the warehouse"

    assert client.execute(Statement("SELECT 1"), tags=JOBS).rows == ((1,),)

    assert first_canceled(stub)
    posts = [path for method, path in stub.requests if method == "POST"]
    cancels = [i for i, path in enumerate(posts) if path == CANCEL]
    submits = [i for i, path in enumerate(posts) if path == SUBMIT]
    assert len(cancels) == CANCEL_ATTEMPTS + 1
    assert cancels[-1] < submits[1], "the first ended before the second was sent"


def test_no_second_statement_while_the_warehouse_refuses_to_end_the_first(
    stub: Stub, make_client: ClientFactory
) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    client = make_client()
    watcher = when_submitted(stub, lambda: refuse_cancels(stub, 100))
    with pytest.raises(StatementTimeoutError):
        client.execute(FOREVER, tags=JOBS, timeout=1.0)
    watcher.join()

    with pytest.raises(ThrottledError):  # its cancel is refused again, within the deadline
        client.execute(Statement("SELECT 1"), tags=JOBS, timeout=1.0)

    assert list(stub.statements) == ["stmt-1"], "no second statement while the first runs"
    assert not stub.statements["stmt-1"].canceled


def test_other_callers_are_not_held_up(stub: Stub, make_client: ClientFactory) -> None:
    stub.plans["SELECT forever"] = Plan(forever=True)
    client = make_client()
    watcher = when_submitted(stub, lambda: refuse_cancels(stub, 100))
    with pytest.raises(StatementTimeoutError):
        client.execute(FOREVER, tags=JOBS, timeout=1.0)
    watcher.join()
    stub.api_replies.clear()

    assert client.execute(Statement("SELECT 1"), tags={"collector": "billing"}).rows == ((1,),)
    assert client.execute(Statement("SELECT 1")).rows == ((1,),)
    assert not stub.statements["stmt-1"].canceled
