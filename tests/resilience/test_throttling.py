"""Issue 5, item 3: throttling (HTTP 429 and 503 with Retry-After).

Inside one refresh the client waits out Retry-After only while that fits in the statement
timeout, so a refresh never outlasts it; a throttled refresh then backs off like any transient
failure, never sooner than Retry-After. The API requests the workspace saw stay within what
those rules allow: no tight loop.
"""

from __future__ import annotations

import time

import pytest

from databricks_exporter.warehouse.client import THROTTLE_FLOOR

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, Harness, by_collector, domain_series
from .harness_backoff import Attempts, assert_backs_off, max_attempts

TIMEOUT = 2.0
STATUSES = (429, 503)


async def timed_step(h: Harness) -> float:
    """Real seconds the refreshes of the next wake-up took."""
    started = time.monotonic()
    assert await h.step()
    return time.monotonic() - started


@pytest.mark.parametrize("status", STATUSES)
async def test_retry_after_within_the_timeout_is_waited_out_then_backed_off(
    make_harness: MakeHarness, status: int
) -> None:
    # One collector: its attempts run one after the other in real time, about a second each.
    h = make_harness(statement_timeout=TIMEOUT, only=("jobs",))
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults({"api": {"status": status, "retry_after": 1}})
    attempts = Attempts(h)

    # The refresh at 300 s, then a retry about 15 s later.
    while len(attempts.times["jobs"]) < 2:
        assert await timed_step(h) <= TIMEOUT + 1.0, "a refresh never outlasts the timeout"
        attempts()

    scraped = await h.scrape()
    stats = await h.sim_stats()
    throttled = stats["faults_injected"][f"api_{status}"]
    per_attempt = 1 + int(TIMEOUT // THROTTLE_FLOOR)
    assert 2 * attempts.total() <= throttled <= per_attempt * attempts.total(), (
        "Retry-After was waited out once inside each refresh, and never more often"
    )
    assert stats["statements"]["received"] == 0
    assert scraped.value("databricks_up") == 0.0
    assert scraped.statements("jobs", "throttled") == len(attempts.times["jobs"]) == 2
    assert_backs_off(attempts.gaps("jobs"), INTERVAL, floor=1.0)
    assert domain_series(scraped, "jobs") == domain_series(healthy, "jobs")

    await h.set_faults({})
    await h.run_for(INTERVAL)
    assert (await h.scrape()).value("databricks_up") == 1.0


@pytest.mark.parametrize("status", STATUSES)
async def test_retry_after_beyond_the_timeout_fails_at_once_and_sets_the_next_attempt(
    make_harness: MakeHarness, status: int
) -> None:
    retry_after = 120
    h = make_harness(statement_timeout=TIMEOUT)
    await h.start()
    await h.reset_sim_stats()
    await h.set_faults({"api": {"status": status, "retry_after": retry_after}})
    attempts = Attempts(h)
    started = time.monotonic()

    await h.run_for(INTERVAL + 900, each=attempts)

    assert time.monotonic() - started < 10, "no attempt waited for a Retry-After it cannot use"
    stats = await h.sim_stats()
    assert stats["faults_injected"][f"api_{status}"] == attempts.total(), "one request each"
    for name in COLLECTORS:
        gaps = attempts.gaps(name)
        assert len(gaps) >= 3
        assert all(gap >= retry_after for gap in gaps), gaps
        assert_backs_off(gaps, INTERVAL, floor=retry_after)
        assert len(attempts.times[name]) <= max_attempts(900, INTERVAL, floor=retry_after)


async def test_a_short_throttle_is_absorbed_inside_the_refresh(make_harness: MakeHarness) -> None:
    h = make_harness(statement_timeout=TIMEOUT)
    await h.start()
    await h.reset_sim_stats()
    await h.set_faults({"api": {"status": 429, "retry_after": 1, "count": 2}})

    took = await timed_step(h)

    assert THROTTLE_FLOOR <= took <= TIMEOUT + 1.0
    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 1.0
    for name in COLLECTORS:
        assert scraped.statements(name, "success") == 2
        assert scraped.statements(name, "throttled") == 0
    stats = await h.sim_stats()
    assert stats["faults_injected"]["api_429"] == 2
    assert by_collector(stats, "succeeded") == dict.fromkeys(COLLECTORS, 1), "no duplicates"
