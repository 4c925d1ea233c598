"""One `execute` in flight: its deadline, its statement id and its cancellation flag."""

from __future__ import annotations

import threading
import time

from databricks_exporter.warehouse.errors import StatementCanceledError


class Call:
    """Bookkeeping of one statement run; waits wake early when the call is cancelled."""

    def __init__(self, deadline: float, tags: dict[str, str]) -> None:
        self.deadline = deadline  # time.monotonic()
        self.started = time.monotonic()
        self.tags = tags
        self.statement_id: str | None = None
        self.finished = False  # terminal state seen, or cancel already sent
        self.reauthed = False
        self.polls = 0
        self._canceled = threading.Event()

    @property
    def label(self) -> str:
        """The caller's tags as `key=value` pairs, for log lines."""
        return ",".join(f"{key}={value}" for key, value in sorted(self.tags.items()))

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started

    def cancel(self) -> None:
        """Make the call stop at its next check or wake it from a pause."""
        self._canceled.set()

    def check(self) -> None:
        """Raise StatementCanceledError if the call was cancelled."""
        if self._canceled.is_set():
            raise StatementCanceledError(
                "cancelled: the warehouse client is stopping (cancel_all)",
                statement_id=self.statement_id,
            )

    def pause(self, seconds: float) -> bool:
        """Wait `seconds` unless cancelled; False, without waiting, once the deadline passed."""
        self.check()
        if self.remaining() <= 0:
            return False
        self._canceled.wait(max(seconds, 0.0))
        self.check()
        return True
