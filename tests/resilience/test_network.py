"""Issue 5, item 6: connection resets and server errors.

Inside one refresh the warehouse client retries a reset connection (or a token endpoint answering
500) after a jittered, exponentially growing, capped delay while the statement deadline allows;
a short hiccup is absorbed without a failure or a duplicate statement. A lasting one fails the
refresh, which the scheduler retries with its own jittered backoff, and it is logged once.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from databricks_exporter.warehouse.client import BACKOFF_CAP, BACKOFF_FIRST

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, by_collector, domain_series, events, kv
from .harness_backoff import Attempts, assert_backs_off

TIMEOUT = 1.5
LASTING: dict[str, tuple[dict[str, Any], str]] = {
    "reset": ({"reset_connections": {"count": None, "scope": "all"}}, "network"),
    "token-500": ({"token": {"status": 500}}, "server"),
}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="databricks_exporter")
    return caplog


def retry_delays(records: list[logging.LogRecord]) -> list[tuple[int, float]]:
    """(attempt, delay) of every retry the warehouse client logged."""
    retries = [r for r in events(records, "warehouse") if r.getMessage() == "retrying"]
    return [(int(kv(r)["attempt"]), float(kv(r)["delay"])) for r in retries]


def assert_jittered_exponential(delays: list[tuple[int, float]]) -> None:
    """Retry n waits a random share (50-100 %) of min(cap, first x 2^(n-1))."""
    assert delays
    ratios = []
    for attempt, delay in delays:
        base = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** (attempt - 1))
        assert 0.5 * base - 0.01 <= delay <= base + 0.01, (attempt, delay)
        ratios.append(round(delay / base, 2))
    assert len(set(ratios)) > 1, "the delays are jittered"
    assert max(attempt for attempt, _ in delays) >= 3, "the delay grew over several retries"


async def test_a_few_resets_are_retried_inside_the_refresh(
    make_harness: MakeHarness, debug_logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness(statement_timeout=3.0)
    await h.start()
    await h.reset_sim_stats()
    await h.set_faults({"reset_connections": {"count": 3, "scope": "api"}})

    assert await h.step()

    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 1.0
    for name in COLLECTORS:
        assert scraped.statements(name, "success") == 2
        assert scraped.statements(name, "network") == 0
    stats = await h.sim_stats()
    assert stats["faults_injected"]["connection_reset"] == 3
    assert by_collector(stats, "succeeded") == dict.fromkeys(COLLECTORS, 1), "no duplicate"
    delays = retry_delays(debug_logs.records)
    assert len(delays) == 3
    assert all(0.5 * BACKOFF_FIRST - 0.01 <= delay <= BACKOFF_CAP for _, delay in delays)
    assert not [r for r in events(debug_logs.records) if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("fault", sorted(LASTING))
async def test_a_lasting_failure_backs_off_in_the_client_then_in_the_scheduler(
    make_harness: MakeHarness, debug_logs: pytest.LogCaptureFixture, fault: str
) -> None:
    faults, kind = LASTING[fault]
    h = make_harness(statement_timeout=TIMEOUT, only=("jobs",))
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults(faults)
    h.sim.workspace.revoke_tokens()  # so the client needs the token endpoint again
    attempts = Attempts(h)

    while len(attempts.times["jobs"]) < 2:  # at 300 s, then about 15 s later
        assert await h.step()
        attempts()

    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 0.0
    assert scraped.statements("jobs", kind) == 2
    assert domain_series(scraped, "jobs") == domain_series(healthy, "jobs")
    assert_backs_off(attempts.gaps("jobs"), INTERVAL)
    assert_jittered_exponential(retry_delays(debug_logs.records))
    stats = await h.sim_stats()
    assert stats["statements"]["received"] == 0
    requests = stats["faults_injected"].get("connection_reset", 0) + stats["token_requests_refused"]
    assert 2 * 2 <= requests <= 2 * 6, "a few retries per refresh, never a tight loop"
    failing = [r for r in events(debug_logs.records, "scheduler") if r.levelno >= logging.ERROR]
    assert len(failing) == 1
    assert kv(failing[0])["kind"] == kind

    await h.set_faults({})
    await h.run_for(INTERVAL)
    assert (await h.scrape()).value("databricks_up") == 1.0
