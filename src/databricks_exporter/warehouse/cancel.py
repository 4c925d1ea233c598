"""Cancelling a statement on the warehouse, resent after a blip; never raises.

A cancel lost to a network error, a 5xx or a 429 would leave the statement running, and billed,
with nobody waiting for it: the request is sent again a couple of times within a short deadline
of its own (the call's deadline has passed, or the exporter is shutting down).
"""

from __future__ import annotations

import time

from databricks.sdk import WorkspaceClient

from databricks_exporter.logs import get_logger
from databricks_exporter.warehouse import classify
from databricks_exporter.warehouse.calls import request_deadline
from databricks_exporter.warehouse.classify import Action

log = get_logger("warehouse")

CANCEL_TIMEOUT = 3.0  # the cancel requests' own deadline
CANCEL_ATTEMPTS = 3
CANCEL_RETRY_DELAY = 0.25


def cancel_statement(client: WorkspaceClient, statement_id: str) -> bool:
    """Ask the warehouse to cancel `statement_id`; False (and a warning) if it never accepted."""
    deadline = time.monotonic() + CANCEL_TIMEOUT
    for attempt in range(CANCEL_ATTEMPTS):
        try:
            with request_deadline(deadline):
                client.statement_execution.cancel_execution(statement_id)
        except Exception as error:  # best effort: the caller's next statement checks again
            delay = CANCEL_RETRY_DELAY * 2.0**attempt
            again = attempt + 1 < CANCEL_ATTEMPTS and time.monotonic() + delay < deadline
            if again and _worth_resending(error):
                time.sleep(delay)  # not Call.pause: cancel_all may have woken the call
                continue
            cause = classify.unwrap(error)
            log.warning(
                "cancel failed; the caller's next statement will try again",
                statement_id=statement_id,
                attempts=attempt + 1,
                err=classify.clean(f"{type(cause).__name__}: {cause}"),
            )
            return False
        return True
    return False  # not reached: the last attempt returns


def _worth_resending(error: Exception) -> bool:
    """Whether a failed cancel request may succeed if sent again (network, 5xx, throttled)."""
    verdict = classify.request_error(error, submitting=False)
    return verdict is not None and verdict.action in (Action.BACKOFF, Action.THROTTLE)
