"""Issue 5, item 8: data carries its age and is withdrawn after the max age without a success.

While refreshes fail, a collector's last series stay, with `..._last_success_timestamp_seconds`
and `..._data_as_of_timestamp_seconds` telling their age. Once the last success is older than
the collector's max age, its series are withdrawn (also in the middle of a long refresh),
`..._stale` is 1 and the other self-metrics say why; the next success brings them back.
"""

from __future__ import annotations

import logging

import pytest

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, MAX_AGE, NOW, Metrics, domain_series, events, kv, until

SUCCESS_AT = NOW.timestamp()  # the exporter's clock starts at the simulated workspace's NOW


def gauge(metrics: Metrics, name: str, collector: str) -> float | None:
    return metrics.value(f"databricks_exporter_collector_{name}", collector=collector)


async def test_failing_collectors_age_then_are_withdrawn_and_come_back(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness()
    await h.start()
    healthy = await h.scrape()
    await h.set_faults({"token": {"status": 401}})
    h.sim.workspace.revoke_tokens()

    await h.run_until(MAX_AGE - 60)

    ageing = await h.scrape()
    for name in COLLECTORS:
        assert domain_series(ageing, name) == domain_series(healthy, name)
        assert gauge(ageing, "last_success_timestamp_seconds", name) == SUCCESS_AT
        assert h.clock.wall() - SUCCESS_AT == MAX_AGE - 60, "the age a dashboard computes"
        assert gauge(ageing, "data_as_of_timestamp_seconds", name) == NOW.timestamp()
        assert gauge(ageing, "stale", name) == 0.0
    await h.run_until(MAX_AGE)

    stale = await h.scrape()
    assert stale.value("databricks_up") == 0.0
    for name in COLLECTORS:
        assert not domain_series(stale, name)
        assert gauge(stale, "stale", name) == 1.0
        assert gauge(stale, "series", name) == 0.0
        assert gauge(stale, "last_refresh_success", name) == 0.0
        assert gauge(stale, "last_success_timestamp_seconds", name) == SUCCESS_AT
        assert gauge(stale, "data_as_of_timestamp_seconds", name) is None
        assert stale.statements(name, "auth") >= 4
    withdrawn = [r for r in events(logs.records, "scheduler") if r.levelno == logging.WARNING]
    assert sorted(kv(r)["collector"] for r in withdrawn) == sorted(COLLECTORS)
    assert all(r.getMessage().startswith("series withdrawn") for r in withdrawn)

    await h.set_faults({})
    await h.run_for(INTERVAL)

    back = await h.scrape()
    for name in COLLECTORS:
        assert domain_series(back, name) == domain_series(healthy, name)
        assert gauge(back, "stale", name) == 0.0
        assert gauge(back, "last_success_timestamp_seconds", name) > SUCCESS_AT  # type: ignore[operator]


async def test_series_are_withdrawn_while_a_long_refresh_is_still_running(
    make_harness: MakeHarness,
) -> None:
    max_age = 1000.0
    h = make_harness(max_age=max_age, statement_timeout=4.0, only=("jobs",))
    await h.start()
    healthy = await h.scrape()
    await h.set_faults({"corrupt": {"mode": "empty", "count": 2}})
    await h.run_until(2 * INTERVAL)  # two failed refreshes; the data is 600 s old
    await h.set_faults({"slow_statements": {"seconds": 2.0, "count": 1}})
    h.clock.advance_to(h.started_at + 3 * INTERVAL)  # a refresh starts 100 s before max age
    await until(lambda: h.metrics().state("jobs") == "running", what="the slow refresh")

    h.clock.advance(150)  # past the max age while the statement still runs

    await until(lambda: not domain_series(h.metrics(), "jobs"), 2.0, "the series to go")
    during = h.metrics()
    assert during.state("jobs") == "running"
    assert gauge(during, "stale", "jobs") == 1.0
    assert (await h.sim_stats())["in_flight"] == 1, "withdrawn before the statement ended"
    await h.settle()
    after = await h.scrape()
    assert domain_series(after, "jobs") == domain_series(healthy, "jobs")
    assert gauge(after, "stale", "jobs") == 0.0
