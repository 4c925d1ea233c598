"""The client's pure parts: value conversion, error classification, request deadlines."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import pytest
import requests
from databricks.sdk import errors as sdk_errors

from databricks_exporter.warehouse import classify
from databricks_exporter.warehouse.calls import capped_timeout, request_deadline
from databricks_exporter.warehouse.classify import Action
from databricks_exporter.warehouse.convert import convert_rows
from databricks_exporter.warehouse.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ResultError,
    ServerError,
    StatementFailedError,
    ThrottledError,
)
from databricks_exporter.warehouse.result import Column
from databricks_exporter.warehouse.sdk import RetryRequested, build_client

from .stub import Stub

# ----- convert -------------------------------------------------------------------------


def test_values_convert_by_type_name() -> None:
    columns = [Column(name, kind) for name, kind in (("a", "SHORT"), ("b", "FLOAT"), ("c", "MAP"))]
    rows = convert_rows(
        columns, [["7", "Infinity", '{"k":1}'], [None, "-0.5", None]], statement_id="s"
    )
    assert rows == [(7, math.inf, '{"k":1}'), (None, -0.5, None)]


@pytest.mark.parametrize(
    ("column", "cell"), [(Column("n", "LONG"), "1.5"), (Column("b", "BOOLEAN"), "yes")]
)
def test_a_cell_that_does_not_parse_is_a_result_error(column: Column, cell: str) -> None:
    with pytest.raises(ResultError, match=column.name):
        convert_rows([column], [[cell]], statement_id="s")


def test_a_short_row_is_a_result_error() -> None:
    with pytest.raises(ResultError, match="1 values for 2 columns"):
        convert_rows([Column("a", "INT"), Column("b", "INT")], [["1"]], statement_id="s")


# ----- classify ------------------------------------------------------------------------


def test_sdk_timeout_error_is_unwrapped_to_its_cause() -> None:
    cause = sdk_errors.TooManyRequests("slow down", retry_after_secs=7)
    wrapped = TimeoutError("Timed out after 0:05:00")
    wrapped.__cause__ = cause
    verdict = classify.request_error(wrapped, submitting=True)
    assert verdict is not None
    assert verdict.action is Action.THROTTLE
    assert isinstance(verdict.error, ThrottledError)
    assert verdict.error.retry_after == 7.0


def test_retry_requested_is_unwrapped() -> None:
    verdict = classify.request_error(
        RetryRequested(requests.ConnectionError("reset")), submitting=True
    )
    assert verdict is not None
    assert verdict.action is Action.BACKOFF
    assert isinstance(verdict.error, ConnectionFailedError)


def test_read_timeout_on_submit_is_not_retried() -> None:
    submit = classify.request_error(requests.ReadTimeout("slow"), submitting=True)
    poll = classify.request_error(requests.ReadTimeout("slow"), submitting=False)
    assert submit is not None
    assert poll is not None
    assert (submit.action, poll.action) == (Action.FAIL, Action.BACKOFF)


@pytest.mark.parametrize(
    "error", [ValueError("b'<html>'"), NotImplementedError("expires_in"), KeyError("content-type")]
)
def test_sdk_token_path_errors_are_server_errors(error: Exception) -> None:
    verdict = classify.request_error(error, submitting=False)
    assert verdict is not None
    assert isinstance(verdict.error, ServerError)


def test_config_suffix_is_stripped() -> None:
    error = sdk_errors.Unauthenticated(
        "Invalid token. Config: host=https://x, client_id=abc, client_secret=***. "
        "Env: DATABRICKS_HOST"
    )
    verdict = classify.request_error(error, submitting=True)
    assert verdict is not None
    assert verdict.action is Action.REAUTH
    assert isinstance(verdict.error, AuthenticationError)
    assert "Config" not in str(verdict.error)
    assert "Env" not in str(verdict.error)


def test_unknown_bad_request_keeps_its_code() -> None:
    verdict = classify.request_error(
        sdk_errors.InvalidParameterValue("bad warehouse", error_code="INVALID_PARAMETER_VALUE"),
        submitting=True,
    )
    assert verdict is not None
    assert isinstance(verdict.error, StatementFailedError)
    assert verdict.error.error_code == "INVALID_PARAMETER_VALUE"


def test_bugs_are_not_classified() -> None:
    assert classify.request_error(AttributeError("oops"), submitting=False) is None


def test_failed_status_without_details() -> None:
    error = classify.statement_failure(SimpleNamespace(error=None, sql_state=None), "s-1")
    assert isinstance(error, StatementFailedError)
    assert error.statement_id == "s-1"


# ----- request deadlines ---------------------------------------------------------------


def test_timeouts_are_capped_by_the_thread_deadline() -> None:
    assert capped_timeout((5.0, 10.0)) == (5.0, 10.0)
    with request_deadline(time.monotonic() + 3.0):
        capped = capped_timeout((5.0, 10.0))
        assert isinstance(capped, tuple)
        assert 2.5 < capped[0] <= 3.0
        assert capped[1] is not None
        assert 2.5 < capped[1] <= 3.0
        assert capped_timeout(1.0) == 1.0
    with request_deadline(time.monotonic() - 10):
        assert capped_timeout(10.0) == 1.0  # a floor, even past the deadline
    assert capped_timeout(None) is None


def test_sdk_session_gets_the_deadline_adapter(stub: Stub) -> None:
    client = build_client(
        stub.url,
        "id",
        lambda: {},
        http_timeout=10.0,
        probe_timeout=0.5,
        product="test",
        version="0",
    )
    session = client.api_client._api_client._session
    assert type(session.get_adapter("http://x")).__name__ == "_DeadlineAdapter"
    assert type(session.get_adapter("https://x")).__name__ == "_DeadlineAdapter"
    assert client.config.http_timeout_seconds == 10.0
    assert client.config.workspace_id == "42"  # the host-metadata probe ran
