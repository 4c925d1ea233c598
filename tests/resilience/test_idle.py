"""Issue 5, item 9: refreshes pause when nobody scrapes, so the warehouse can auto-stop.

With no scrape of `/metrics` for `idle_pause` (default 30 minutes), each collector stops before
its next refresh: the workspace sees no statement however long the pause lasts, health checks
and the status page do not wake it, and `databricks_exporter_idle_paused` is 1. The next scrape
gets the last snapshot at once and wakes the collectors. The age of the data restarts counting
at that resume: if refreshes then fail, the series go after the max age, not at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import MakeHarness
from .harness import COLLECTORS, Harness, by_collector, domain_series, events

IDLE_PAUSE = 1800.0  # the default
EVERY = 600.0  # the refresh interval here: fewer steps to reach the pause
MAX_AGE = 3 * EVERY
REPO = Path(__file__).resolve().parents[2]


async def pause(h: Harness) -> None:
    """Start, scrape once, then let the clock run past the idle pause without scraping."""
    await h.start()
    assert (await h.scrape()).value("databricks_exporter_idle_paused") == 0.0
    await h.reset_sim_stats()
    await h.run_until(IDLE_PAUSE)
    assert h.metrics().value("databricks_exporter_idle_paused") == 1.0


async def test_no_scrape_pauses_refreshes_and_the_next_scrape_resumes_them(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness(idle_pause=IDLE_PAUSE, interval=EVERY, max_age=MAX_AGE)
    await pause(h)

    # Refreshes at 600 and 1200 s; at 1800 s nobody has scraped for 30 minutes.
    assert by_collector(await h.sim_stats()) == dict.fromkeys(COLLECTORS, 2)
    paused = h.metrics()
    for name in COLLECTORS:
        assert paused.state(name) == "paused"
        assert h.statuses()[name].next_refresh is None
    at_pause = await h.sim_stats()
    for path in ("/-/healthy", "/-/ready", "/"):
        assert (await h.get(path))[0] == 200
    await h.run_for(4 * 3600)
    stats = await h.sim_stats()
    assert stats["statements"]["received"] == 8, "not one statement while paused"
    assert stats["api_requests"] == at_pause["api_requests"], "no request of any kind"
    assert stats["tokens_issued"] == at_pause["tokens_issued"]
    assert h.metrics().value("databricks_exporter_idle_paused") == 1.0

    resumed_by = await h.scrape()

    assert resumed_by.value("databricks_exporter_idle_paused") == 1.0, "the last snapshot"
    for name in COLLECTORS:
        assert domain_series(resumed_by, name) == domain_series(paused, name)
    await h.settle()
    assert by_collector(await h.sim_stats()) == dict.fromkeys(COLLECTORS, 3)
    awake = await h.scrape()
    assert awake.value("databricks_exporter_idle_paused") == 0.0
    assert all(awake.state(name) == "idle" for name in COLLECTORS)
    messages = [r.getMessage() for r in events(logs.records, "scheduler")]
    assert messages.count("refreshes paused: no scrape recently") == 1
    assert messages.count("refreshes resumed by a scrape") == 1


async def test_after_a_long_pause_the_age_counts_from_the_resume(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(idle_pause=IDLE_PAUSE, interval=EVERY, max_age=MAX_AGE)
    await pause(h)
    await h.run_for(4 * 3600)  # far longer than the max age
    last = h.metrics()
    await h.set_faults({"token": {"status": 401}})
    h.sim.workspace.revoke_tokens()

    first = await h.scrape()
    await h.run_for(MAX_AGE - 1)

    later = await h.scrape()
    for name in COLLECTORS:
        assert domain_series(first, name) == domain_series(last, name), "served at once"
        assert domain_series(later, name) == domain_series(last, name), "refreshes get a chance"
        assert later.statements(name, "auth") >= 4
    await h.run_for(1)
    gone = await h.scrape()
    for name in COLLECTORS:
        assert not domain_series(gone, name)
        assert gone.value("databricks_exporter_collector_stale", collector=name) == 1.0


def test_the_cost_of_idle_pause_is_documented() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    cost = (REPO / "docs" / "cost.md").read_text(encoding="utf-8")
    assert "`--idle-pause`" in readme
    assert "docs/cost.md" in readme
    assert "## Idle pause" in cost
    assert "databricks_exporter_idle_paused" in cost
    assert "statements per hour" in cost.lower()
