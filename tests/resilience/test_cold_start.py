"""Issue 5, item 5: a stopped warehouse starting on the first statement (statements PENDING).

The exporter waits for it up to the statement timeout, serves the previous snapshot meanwhile,
and shows `databricks_exporter_collector_refresh_state{state="pending"}`. A start longer than
the timeout ends in a timeout (the statement cancelled on the warehouse) with the previous
snapshot still served. At start-up, `/-/ready` answers 503 until the first refreshes end.
"""

from __future__ import annotations

import time

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, Harness, Metrics, by_collector, domain_series, until


async def scrape_until_pending(h: Harness, within: float = 10.0) -> Metrics:
    """Scrape over HTTP until some collector shows `pending`; that scrape's body."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        scraped = await h.scrape()
        if any(scraped.state(name) == "pending" for name in COLLECTORS):
            return scraped
        await h.sim_statements(1)  # a breath between scrapes
    raise AssertionError("no collector showed pending")


async def test_cold_start_is_waited_for_while_the_last_snapshot_is_served(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(statement_timeout=6.0)
    await h.start()
    healthy = await h.scrape()
    await h.set_faults({"warehouse_stopped": {"seconds": 2.0}})
    started = time.monotonic()
    h.clock.advance_to(h.started_at + INTERVAL)

    during = await scrape_until_pending(h)

    for name in COLLECTORS:
        assert domain_series(during, name) == domain_series(healthy, name)
        assert during.state(name) in ("pending", "running")
    assert during.value("databricks_up") == 1.0
    assert (await h.get("/-/ready"))[0] == 200
    await h.settle()
    assert time.monotonic() - started >= 2.0, "the refreshes waited for the warehouse"
    after = await h.scrape()
    for name in COLLECTORS:
        assert after.state(name) == "idle"
        assert after.statements(name, "success") == 2
        assert after.statements(name, "timeout") == 0
    assert (await h.sim_stats())["faults_injected"]["warehouse_stopped"] == 1


async def test_cold_start_longer_than_the_timeout_times_out_and_keeps_the_snapshot(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(statement_timeout=1.2)
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults({"warehouse_stopped": {"seconds": 2.0}})

    assert await h.step()

    timed_out = await h.scrape()
    for name in COLLECTORS:
        assert timed_out.statements(name, "timeout") == 1
        assert domain_series(timed_out, name) == domain_series(healthy, name)
    await until(lambda: h.sim.stats()["in_flight"] == 0, 5, "the cancels to land")
    assert by_collector(await h.sim_stats(), "canceled") == dict.fromkeys(COLLECTORS, 1)

    await h.run_for(INTERVAL)  # the warehouse finished starting meanwhile
    for name in COLLECTORS:
        assert (await h.scrape()).statements(name, "success") == 2


async def test_readiness_waits_for_the_first_refreshes_through_a_cold_start(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(statement_timeout=6.0)
    await h.set_faults({"warehouse_stopped": {"seconds": 2.0}})
    await h.start(settle=False)

    during = await scrape_until_pending(h)

    assert (await h.get("/-/ready"))[0] == 503
    assert (await h.get("/-/healthy"))[0] == 200
    assert during.value("databricks_up") == 0.0, "no contact yet"
    for name in COLLECTORS:
        assert not domain_series(during, name)
    await until(h.exporter.scheduler.ready, 10, "the first refreshes")
    assert (await h.get("/-/ready"))[0] == 200
    ready = await h.scrape()
    assert ready.value("databricks_up") == 1.0
    for name in COLLECTORS:
        assert domain_series(ready, name)
