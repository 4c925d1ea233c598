"""Errors the warehouse client raises, so callers decide by type rather than by message."""

from __future__ import annotations


class WarehouseError(Exception):
    """Anything that went wrong talking to the workspace or running a statement."""

    #: Short stable name used as a label value in self-metrics and in logs.
    kind = "error"

    def __init__(self, message: str, *, statement_id: str | None = None) -> None:
        super().__init__(message)
        self.statement_id = statement_id


class AuthenticationError(WarehouseError):
    """The token endpoint or the API refused our credentials (401, invalid_client)."""

    kind = "auth"


class InsufficientPermissionsError(WarehouseError):
    """The principal lacks a privilege (403, INSUFFICIENT_PERMISSIONS / SQLSTATE 42501)."""

    kind = "permission"

    def __init__(
        self, message: str, *, table: str | None = None, statement_id: str | None = None
    ) -> None:
        super().__init__(message, statement_id=statement_id)
        self.table = table


class WarehouseAccessError(InsufficientPermissionsError):
    """The API refused the principal itself (HTTP 403): it may not use the warehouse at all."""


class TableNotFoundError(WarehouseError):
    """A table is missing or invisible to the principal (TABLE_OR_VIEW_NOT_FOUND / 42P01)."""

    kind = "table_missing"

    def __init__(
        self, message: str, *, table: str | None = None, statement_id: str | None = None
    ) -> None:
        super().__init__(message, statement_id=statement_id)
        self.table = table


class ThrottledError(WarehouseError):
    """The API asked us to slow down (429 or 503) and the retry budget ran out."""

    kind = "throttled"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        statement_id: str | None = None,
    ) -> None:
        super().__init__(message, statement_id=statement_id)
        self.retry_after = retry_after


class StatementTimeoutError(WarehouseError):
    """The statement did not finish within the statement timeout; it was cancelled."""

    kind = "timeout"


class ConnectionFailedError(WarehouseError):
    """The workspace could not be reached (DNS, refused, reset, TLS, HTTP timeout)."""

    kind = "network"


class ServerError(WarehouseError):
    """The workspace answered with a server error (HTTP 500, 502, 504) or an unreadable reply."""

    kind = "server"


class StatementFailedError(WarehouseError):
    """The warehouse ran the statement and it failed for another reason (state FAILED)."""

    kind = "failed"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        sql_state: str | None = None,
        statement_id: str | None = None,
    ) -> None:
        super().__init__(message, statement_id=statement_id)
        self.error_code = error_code
        self.sql_state = sql_state


class StatementCanceledError(WarehouseError):
    """The statement was cancelled (by us on shutdown, or by someone else)."""

    kind = "canceled"


class ResultError(WarehouseError):
    """The statement succeeded but its result is not what the collector expects."""

    kind = "bad_result"
