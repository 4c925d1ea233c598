"""Map what the SDK, requests and the warehouse report into the error hierarchy, plus what to do.

Decided by exception class, `error_code` and `sql_state`, never by parsing prose, except to pull
the table name out of a TABLE_OR_VIEW_NOT_FOUND or INSUFFICIENT_PERMISSIONS message.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import requests
from databricks.sdk import errors as sdk_errors
from databricks.sdk.errors.base import DatabricksError

from databricks_exporter.logs import redact
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
    WarehouseAccessError,
    WarehouseError,
)
from databricks_exporter.warehouse.sdk import RetryRequested


class Action(enum.Enum):
    """What the client does after a failed request."""

    FAIL = "fail"  # give up now
    BACKOFF = "backoff"  # retry after a jittered exponential backoff, within the deadline
    THROTTLE = "throttle"  # retry after Retry-After, if that is before the deadline
    REAUTH = "reauth"  # rebuild the client (fresh token, secret re-read) and retry once


@dataclass(frozen=True)
class Verdict:
    """A failed request's error in our hierarchy and what to do about it."""

    error: WarehouseError
    action: Action


MAX_MESSAGE = 500
_CONFIG_SUFFIX = re.compile(r"\.?\s*(Config|Env): .*$", re.DOTALL)
_NOT_FOUND_TABLE = re.compile(r"table or view\s+(\S+)\s+(?:cannot be|was not) found", re.I)
_DENIED_TABLE = re.compile(r"\bon\s+(?:table|view)\s+(\S+)", re.I)
_RETRYABLE_HTTP = (sdk_errors.InternalError, sdk_errors.DeadlineExceeded)
_BAD_GATEWAY = "BAD_GATEWAY"


def clean(text: str) -> str:
    """A message fit for logs: the SDK's Config/Env suffix removed, secrets masked, bounded."""
    text = _CONFIG_SUFFIX.sub("", text).strip()
    return redact(text)[:MAX_MESSAGE]


def describe_network(error: BaseException) -> str:
    """`ConnectionError (Connection refused)`: the outer type and the innermost reason."""
    inner = error
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    reason = str(inner) or type(inner).__name__
    return clean(f"{type(error).__name__} ({reason})")


def unwrap(error: BaseException) -> BaseException:
    """The error behind the SDK's retry wrapper or its builtin TimeoutError."""
    if isinstance(error, RetryRequested):
        return error.cause
    if type(error) is TimeoutError and error.__cause__ is not None:
        return error.__cause__
    return error


def request_error(error: BaseException, *, submitting: bool) -> Verdict | None:
    """Classify one failed API request; None means it is not ours to handle (a bug)."""
    error = unwrap(error)
    if isinstance(error, WarehouseError):
        return _from_token_source(error)
    if isinstance(error, requests.RequestException):
        return _from_requests(error, submitting=submitting)
    if isinstance(error, DatabricksError):
        return _from_api(error, submitting=submitting)
    if isinstance(error, ValueError | KeyError | NotImplementedError):
        # The SDK's own token path raises these; so does an unreadable JSON reply.
        message = f"unexpected reply: {type(error).__name__}: {clean(str(error))}"
        return Verdict(ServerError(message), Action.FAIL if submitting else Action.BACKOFF)
    return None


def build_error(error: BaseException) -> WarehouseError:
    """The error for a workspace client that could not be configured at all."""
    return AuthenticationError(f"cannot configure the workspace client: {clean(str(error))}")


def _from_token_source(error: WarehouseError) -> Verdict:
    if isinstance(error, ThrottledError):
        return Verdict(error, Action.THROTTLE)
    if isinstance(error, ConnectionFailedError | ServerError):
        return Verdict(error, Action.BACKOFF)  # a token POST is safe to repeat
    return Verdict(error, Action.FAIL)


def _from_requests(error: requests.RequestException, *, submitting: bool) -> Verdict:
    failure = ConnectionFailedError(f"cannot reach the workspace: {describe_network(error)}")
    if isinstance(error, requests.ReadTimeout) and submitting:
        # The statement may exist already; sending it again would duplicate it.
        return Verdict(failure, Action.FAIL)
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return Verdict(failure, Action.FAIL)
    return Verdict(failure, Action.BACKOFF)


def _from_api(error: DatabricksError, *, submitting: bool) -> Verdict:
    code = error.error_code or type(error).__name__
    text = f"{code}: {clean(str(error))}"
    if isinstance(error, sdk_errors.Unauthenticated):
        return Verdict(AuthenticationError(f"the API refused the token: {text}"), Action.REAUTH)
    if isinstance(error, sdk_errors.PermissionDenied):
        message = (
            f"permission denied: {text}; the service principal needs CAN USE on the SQL "
            "warehouse (its Permissions tab)"
        )
        return Verdict(WarehouseAccessError(message), Action.FAIL)
    if isinstance(error, sdk_errors.TooManyRequests | sdk_errors.TemporarilyUnavailable):
        retry_after = float(error.retry_after_secs) if error.retry_after_secs else None
        return Verdict(
            ThrottledError(f"throttled: {text}", retry_after=retry_after), Action.THROTTLE
        )
    if isinstance(error, _RETRYABLE_HTTP) or code == _BAD_GATEWAY:
        action = Action.FAIL if submitting else Action.BACKOFF
        return Verdict(ServerError(f"server error: {text}"), action)
    failure = StatementFailedError(f"request refused: {text}", error_code=error.error_code)
    return Verdict(failure, Action.FAIL)


def statement_failure(status: Any, statement_id: str | None) -> WarehouseError:
    """The error for a statement whose state is FAILED (`status` is the SDK's StatementStatus)."""
    error = getattr(status, "error", None)
    code = _enum_text(getattr(error, "error_code", None))
    sql_state = getattr(status, "sql_state", None)
    message = clean(str(getattr(error, "message", None) or "statement failed"))
    return _failure(message, code, sql_state, statement_id)


#: FAILED statements by `status.error.error_code`, beyond the table errors. The service's own
#: trouble is a server error (retried with backoff), not a failure of our SQL.
_BY_CODE: dict[str, type[WarehouseError]] = {
    "DEADLINE_EXCEEDED": StatementTimeoutError,
    "CANCELLED": StatementCanceledError,
    "UNAUTHENTICATED": AuthenticationError,
    "RESOURCE_EXHAUSTED": ThrottledError,
    "INTERNAL_ERROR": ServerError,
    "IO_ERROR": ServerError,
    "TEMPORARILY_UNAVAILABLE": ServerError,
    "SERVICE_UNDER_MAINTENANCE": ServerError,
    "WORKSPACE_TEMPORARILY_UNAVAILABLE": ServerError,
}


def _failure(
    message: str, code: str | None, sql_state: str | None, statement_id: str | None
) -> WarehouseError:
    if sql_state == "42P01" or "[TABLE_OR_VIEW_NOT_FOUND]" in message:
        table = _table(_NOT_FOUND_TABLE, message)
        return TableNotFoundError(message, table=table, statement_id=statement_id)
    if sql_state == "42501" or "[INSUFFICIENT_PERMISSIONS]" in message:
        table = _table(_DENIED_TABLE, message)
        return InsufficientPermissionsError(message, table=table, statement_id=statement_id)
    if code in _BY_CODE:
        return _BY_CODE[code](f"{code}: {message}", statement_id=statement_id)
    return StatementFailedError(
        message, error_code=code, sql_state=sql_state, statement_id=statement_id
    )


def _table(pattern: re.Pattern[str], message: str) -> str | None:
    match = pattern.search(message)
    if match is None:
        return None
    name = match.group(1).strip(".,;:")
    return re.sub(r"[`'\"]", "", name).lower() or None


def _enum_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
