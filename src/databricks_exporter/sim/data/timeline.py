"""Time anchors of a generated database, and the hourly slicing of timeline rows.

Everything is anchored to `now`: `hour` is `now` truncated to the hour and `day` is the start
of `now`'s UTC date. Timeline rows are sliced at clock-hour boundaries: a run from 10:15 to
12:20 has the slices 10:15-11:00, 11:00-12:00 and 12:00-12:20, and a 20-minute run from
10:50 to 11:10 has two slices. Only slices that ended by `now` exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

HOUR = dt.timedelta(hours=1)
EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class Anchors:
    """`now` as naive UTC, and the hour and day it falls in."""

    now: dt.datetime
    hour: dt.datetime
    day: dt.datetime

    @classmethod
    def of(cls, now: dt.datetime) -> Anchors:
        """Anchors of an aware `now`; naive values are refused so no zone is guessed."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime (UTC)")
        naive = now.astimezone(dt.UTC).replace(tzinfo=None)
        hour = naive.replace(minute=0, second=0, microsecond=0)
        return cls(now=naive, hour=hour, day=hour.replace(hour=0))


def micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def moment(us: int) -> dt.datetime:
    """The naive UTC datetime `us` microseconds after the epoch."""
    return EPOCH + dt.timedelta(microseconds=us)


def slices(
    start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime, bool]]:
    """(slice start, slice end, is the run's last slice) for the slices that ended by `now`."""
    cursor = start
    while cursor < end:
        boundary = cursor.replace(minute=0, second=0, microsecond=0) + HOUR
        stop = min(boundary, end)
        if stop > now:
            return
        yield cursor, stop, stop == end
        cursor = stop
