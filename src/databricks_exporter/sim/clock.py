"""The simulated workspace's wall clock: real time, or frozen for reproducible windows."""

from __future__ import annotations

import datetime as dt
import threading


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


class SimClock:
    """What `current_timestamp()` returns in the simulator, and the query-history timestamps."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: dt.datetime | None = _utc(now) if now is not None else None
        self._offset = dt.timedelta()

    @property
    def frozen(self) -> bool:
        """Whether the clock only moves when told to."""
        return self._frozen is not None

    def now(self) -> dt.datetime:
        """The current simulated time, timezone-aware UTC."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return dt.datetime.now(dt.UTC) + self._offset

    def set_now(self, moment: dt.datetime) -> None:
        """Freeze the clock at `moment` (naive datetimes are taken as UTC)."""
        with self._lock:
            self._frozen = _utc(moment)

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward (a running clock keeps running, `seconds` ahead)."""
        step = dt.timedelta(seconds=seconds)
        with self._lock:
            if self._frozen is not None:
                self._frozen += step
                return self._frozen
            self._offset += step
            return dt.datetime.now(dt.UTC) + self._offset
