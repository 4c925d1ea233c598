"""Recording when each collector attempted a refresh, and what the backoff rules allow."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from databricks_exporter.scheduler import BACKOFF_START

from .harness import Harness

JITTER = (0.8, 1.2)


class Attempts:
    """Called after every step: notes the clock time of each new refresh attempt."""

    def __init__(self, harness: Harness) -> None:
        self._harness = harness
        self._seen = {
            name: status.last_attempt
            for name, status in harness.statuses().items()
            if status.enabled
        }
        self.times: dict[str, list[float]] = {name: [] for name in self._seen}

    def __call__(self) -> None:
        origin = self._harness.started_at
        for name, status in self._harness.statuses().items():
            if name not in self.times:
                continue
            if status.last_attempt is not None and status.last_attempt != self._seen[name]:
                self._seen[name] = status.last_attempt
                self.times[name].append(status.last_attempt - origin)

    def gaps(self, name: str) -> list[float]:
        """Seconds between one collector's consecutive attempts."""
        times = self.times[name]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def total(self) -> int:
        """Attempts of every collector."""
        return sum(len(times) for times in self.times.values())


def backoff_bounds(failures: int, interval: float, floor: float = 0.0) -> tuple[float, float]:
    """Shortest and longest wait after the `failures`-th failure in a row of a transient kind."""
    base = min(interval, BACKOFF_START * 2.0 ** (failures - 1))
    low, high = base * JITTER[0], min(base * JITTER[1], interval)
    return max(low, floor), max(high, floor)


def assert_backs_off(gaps: Sequence[float], interval: float, floor: float = 0.0) -> None:
    """Each gap is the jittered backoff of its place in the run of failures (plus a floor)."""
    assert gaps, "no retry happened"
    for failures, gap in enumerate(gaps, start=1):
        low, high = backoff_bounds(failures, interval, floor)
        assert low - 1e-6 <= gap <= high + 1e-6, (failures, gap, (low, high), list(gaps))


def max_attempts(duration: float, interval: float, floor: float = 0.0) -> int:
    """The most attempts one collector can make in `duration` while failing transiently."""
    elapsed, attempts = 0.0, 1
    while True:
        elapsed += backoff_bounds(attempts, interval, floor)[0]
        if elapsed > duration:
            return attempts
        attempts += 1
