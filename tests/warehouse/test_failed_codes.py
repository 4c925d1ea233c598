"""A statement FAILED for the service's own reasons is a server error, not a failure of our SQL."""

from __future__ import annotations

import pytest

from databricks_exporter.warehouse.errors import ServerError, StatementFailedError
from databricks_exporter.warehouse.result import Statement

from .conftest import ClientFactory
from .stub import Plan, Stub

SERVICE_TROUBLE = (
    "INTERNAL_ERROR",
    "IO_ERROR",
    "TEMPORARILY_UNAVAILABLE",
    "SERVICE_UNDER_MAINTENANCE",
    "WORKSPACE_TEMPORARILY_UNAVAILABLE",
)


def failed(code: str, message: str = "went wrong") -> Plan:
    return Plan(state="FAILED", error={"error_code": code, "message": message})


@pytest.mark.parametrize("code", SERVICE_TROUBLE)
def test_service_trouble_is_a_server_error(
    stub: Stub, make_client: ClientFactory, code: str
) -> None:
    stub.plans["SELECT 1"] = failed(code)
    with pytest.raises(ServerError, match=code) as caught:
        make_client().execute(Statement("SELECT 1"))
    assert caught.value.kind == "server"
    assert caught.value.statement_id == "stmt-1"


@pytest.mark.parametrize("code", ["BAD_REQUEST", "NOT_FOUND", "UNKNOWN", "ABORTED"])
def test_other_failures_stay_statement_failures(
    stub: Stub, make_client: ClientFactory, code: str
) -> None:
    stub.plans["SELECT 1"] = failed(code)
    with pytest.raises(StatementFailedError) as caught:
        make_client().execute(Statement("SELECT 1"))
    assert caught.value.error_code == code
