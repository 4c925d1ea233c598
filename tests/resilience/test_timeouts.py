"""Issue 5, item 4: statements slower than the statement timeout.

A statement still running at the timeout is cancelled on the warehouse (the workspace records it
CANCELED and nothing is left running) and counted as `outcome="timeout"`; its collector keeps
its last data. However far the clock runs while a statement is in flight, its collector never
sends a second one: the workspace's peak of statements in flight per collector tag stays 1.
"""

from __future__ import annotations

import logging

import pytest

from .conftest import MakeHarness
from .harness import (
    COLLECTORS,
    INTERVAL,
    Harness,
    by_collector,
    domain_series,
    events,
    kv,
    until,
)

SLOW = 2.5


async def sim_idle(h: Harness) -> dict[str, int]:
    """Wait until the workspace runs nothing; its statement counts per collector, by outcome."""
    for _ in range(400):
        stats = await h.sim_stats()
        if stats["in_flight"] == 0:
            return {o: sum(by_collector(stats, o).values()) for o in ("received", "canceled")}
        await h.sim_statements(1)  # a short pause that also exercises the admin API
    raise AssertionError("statements still running on the warehouse")


async def test_statement_past_the_timeout_is_cancelled_on_the_warehouse_and_counted(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness(statement_timeout=1.5)
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults({"slow_statements": {"seconds": SLOW, "tags": {"collector": "jobs"}}})

    assert await h.step()  # every collector refreshes at 300 s; jobs outlives the timeout

    scraped = await h.scrape()
    assert scraped.statements("jobs", "timeout") == 1
    success = "databricks_exporter_collector_last_refresh_success"
    assert scraped.value(success, collector="jobs") == 0
    assert domain_series(scraped, "jobs") == domain_series(healthy, "jobs"), "last data kept"
    for name in COLLECTORS:
        if name != "jobs":
            assert scraped.statements(name, "success") == 2
    assert await sim_idle(h) == {"received": 4, "canceled": 1}
    stats = await h.sim_stats()
    assert by_collector(stats, "canceled") == {**dict.fromkeys(COLLECTORS, 0), "jobs": 1}
    recent = await h.sim_statements()
    latest = next(s for s in recent if s["query_tags"].get("collector") == "jobs")
    assert latest["state"] == "CANCELED"
    assert latest["duration_ms"] < SLOW * 1000, "stopped before it would have ended"
    assert not [s for s in recent if s["state"] in ("PENDING", "RUNNING")]
    [line] = [r for r in events(logs.records, "scheduler") if kv(r).get("kind") == "timeout"]
    assert line.levelno == logging.ERROR
    assert kv(line)["collector"] == "jobs"
    assert "cancelled on the warehouse" in kv(line)["err"]

    await h.set_faults({})
    await h.run_for(INTERVAL)  # a timeout is not retried sooner: the next try is the interval
    recovered = await h.scrape()
    assert recovered.statements("jobs", "success") == 2
    assert recovered.statements("jobs", "timeout") == 1


async def test_one_statement_in_flight_per_collector_however_far_the_clock_runs(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(statement_timeout=SLOW + 2)
    await h.start()
    await h.reset_sim_stats()
    await h.set_faults({"slow_statements": {"seconds": SLOW, "tags": {"collector": "jobs"}}})
    h.clock.advance_to(h.started_at + INTERVAL)  # the refresh at 300 s starts
    await until(lambda: h.metrics().state("jobs") == "running", what="jobs to be running")

    others = [name for name in COLLECTORS if name != "jobs"]

    def others_asleep() -> bool:
        states = h.exporter.scheduler.refresh_states()
        # +1: the jobs refresh in flight also waits on the clock, for its data's max age.
        return all(states[n] == "idle" for n in others) and h.clock.sleeping == len(others) + 1

    for _ in range(11):  # 550 s more (not past the max age), while the statement runs
        h.clock.advance(50)
        await until(others_asleep, what="the other collectors to finish their refreshes")
    in_flight = by_collector(await h.sim_stats())
    assert h.exporter.scheduler.refresh_states()["jobs"] == "running"
    await h.settle()

    stats = await h.sim_stats()
    assert in_flight["jobs"] == 1, "no second jobs statement while the first runs"
    assert by_collector(stats, "succeeded")["jobs"] == 1
    tags = stats["by_tag"]["collector"]
    assert {name: tags[name]["peak_in_flight"] for name in COLLECTORS} == dict.fromkeys(
        COLLECTORS, 1
    )
    assert by_collector(stats)["billing"] >= 2, "the others kept their schedule meanwhile"
    assert (await h.scrape()).statements("jobs", "success") == 2
