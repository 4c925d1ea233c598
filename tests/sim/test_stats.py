"""The warehouse's counters: statements in flight at once, overall and per query tag."""

from __future__ import annotations

from databricks_exporter.sim.stats import Stats

JOBS = {"app": "databricks-exporter", "collector": "jobs"}
BILLING = {"app": "databricks-exporter", "collector": "billing"}


def peak(stats: Stats, key: str, value: str) -> float:
    peaks: float = stats.snapshot()["by_tag"][key][value]["peak_in_flight"]
    return peaks


def test_peak_in_flight_is_kept_per_tag_value() -> None:
    stats = Stats()
    stats.started(JOBS)
    stats.started(BILLING)
    stats.finished("succeeded", JOBS)
    stats.started(JOBS)
    assert (peak(stats, "collector", "jobs"), peak(stats, "collector", "billing")) == (1, 1)
    assert peak(stats, "app", "databricks-exporter") == 2
    stats.started(JOBS)
    assert peak(stats, "collector", "jobs") == 2
    assert stats.snapshot()["peak_in_flight"] == 3


def test_reset_keeps_statements_still_in_flight() -> None:
    stats = Stats()
    stats.started(JOBS)
    stats.started(JOBS)
    stats.finished("canceled", JOBS)
    stats.reset()
    stats.started(BILLING)
    assert stats.snapshot()["by_tag"]["collector"]["billing"]["peak_in_flight"] == 1
    stats.started(JOBS)
    assert peak(stats, "collector", "jobs") == 2, "the one still running counts"
    stats.finished("succeeded", JOBS)
    stats.finished("succeeded", JOBS)
    assert stats.snapshot()["in_flight"] == 1
