"""One `execute` in flight: its deadline, its statement id and its cancellation flag.

Also the deadline of the HTTP requests the current thread makes: every request (token POST,
API call) gets a timeout no longer than the time left, with a small floor, so a workspace that
accepts connections and never answers cannot hold a call far past its deadline.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from databricks_exporter.warehouse.errors import StatementCanceledError

#: Shortest timeout given to a request, even one sent just before (or after) the deadline.
MIN_REQUEST_TIMEOUT = 1.0
Timeout = float | tuple[float, float] | tuple[float, None] | None  # as requests takes it
_local = threading.local()


@contextmanager
def request_deadline(deadline: float) -> Iterator[None]:
    """Bound the HTTP requests this thread makes inside the block by `deadline` (monotonic)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def capped_timeout(timeout: Timeout) -> Timeout:
    """`timeout` (requests' float or (connect, read)) cut down to this thread's time left."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = max(MIN_REQUEST_TIMEOUT, deadline - time.monotonic())
    if timeout is None:
        return left
    if isinstance(timeout, tuple):
        read = timeout[1]
        return (min(timeout[0], left), left if read is None else min(read, left))
    return min(timeout, left)


@dataclass(frozen=True)
class InFlight:
    """A statement in flight as the scheduler may report it (e.g. PENDING: warehouse starting)."""

    tags: Mapping[str, str]
    statement_id: str | None
    state: str  # SUBMITTING, PENDING, RUNNING, FETCHING
    seconds: float


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
        self.state = "SUBMITTING"
        self._canceled = threading.Event()

    def view(self) -> InFlight:
        """A snapshot of this call for reporting."""
        return InFlight(dict(self.tags), self.statement_id, self.state, self.elapsed())

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


class Unended:
    """Statements we cancelled whose end the warehouse has not confirmed, by their caller's tags.

    Cancelling is asynchronous on the warehouse, and the request may even be refused; the next
    statement with the same tags first makes sure these have ended, so one caller (a collector)
    never has two statements running there at once.
    """

    def __init__(self, limit: int = 64) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._items: OrderedDict[str, frozenset[tuple[str, str]]] = OrderedDict()

    def add(self, statement_id: str, tags: Mapping[str, str]) -> None:
        """Remember a cancelled statement of a tagged call (untagged calls have no caller)."""
        if not tags:
            return
        with self._lock:
            self._items[statement_id] = frozenset(tags.items())
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def of(self, tags: Mapping[str, str]) -> list[str]:
        """The unended statements of the caller with these tags, oldest first."""
        key = frozenset(tags.items())
        with self._lock:
            return [statement_id for statement_id, k in self._items.items() if k == key]

    def discard(self, statement_id: str) -> None:
        """Forget a statement: it has ended (or the warehouse no longer knows it)."""
        with self._lock:
            self._items.pop(statement_id, None)
