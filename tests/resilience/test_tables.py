"""Issue 5, item 2: a system table the service principal cannot read.

`system.lakeflow.pipeline_update_timeline` hidden (TABLE_OR_VIEW_NOT_FOUND) or denied
(INSUFFICIENT_PERMISSIONS): only the pipeline metrics go, one warning names the table and the
GRANT that fixes it, the pipelines statement is sent again only every `table_probe_every`
intervals, and when the table becomes readable the metrics come back without a restart. The
other collectors refresh on their interval and serve the same series throughout.
"""

from __future__ import annotations

import logging

import pytest

from .conftest import MakeHarness
from .harness import (
    COLLECTORS,
    INTERVAL,
    PIPELINES_TABLE,
    Harness,
    Metrics,
    by_collector,
    domain_series,
    events,
    kv,
)

OTHERS = tuple(name for name in COLLECTORS if name != "pipelines")
FAULTS = {
    "hidden": ({"hidden_tables": [PIPELINES_TABLE]}, "table_missing"),
    "denied": ({"denied_tables": [PIPELINES_TABLE]}, "permission"),
}


def readable(metrics: Metrics, table: str) -> float | None:
    return metrics.value("databricks_exporter_table_readable", table=table)


def table_warnings(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [
        r
        for r in events(records, "scheduler")
        if r.levelno == logging.WARNING and r.getMessage().startswith("table not readable")
    ]


async def scrape_checking_others(h: Harness, healthy: Metrics) -> None:
    """Every scrape answers; the other collectors serve exactly what they served before."""
    scraped = await h.scrape()
    for name in OTHERS:
        assert domain_series(scraped, name) == domain_series(healthy, name)
    assert scraped.value("databricks_up") == 1.0, "the warehouse answered every statement"


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_unreadable_table_removes_only_its_metrics_and_is_probed_every_n_intervals(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture, fault: str
) -> None:
    faults, kind = FAULTS[fault]
    h = make_harness(table_probe_every=2)
    await h.start()
    healthy = await h.scrape()
    assert domain_series(healthy, "pipelines")
    await h.reset_sim_stats()
    await h.set_faults(faults)

    await h.run_for(4 * INTERVAL, each=lambda: scrape_checking_others(h, healthy))

    scraped = await h.scrape()
    assert not domain_series(scraped, "pipelines")
    assert scraped.value("databricks_exporter_collector_series", collector="pipelines") == 0
    assert readable(scraped, PIPELINES_TABLE) == 0.0
    assert readable(scraped, "system.lakeflow.job_run_timeline") == 1.0
    assert scraped.statements("pipelines", kind) == 2
    seen = by_collector(await h.sim_stats())
    # Failing at 300 s, probed at 900 s; the others refresh at 300, 600, 900 and 1200 s.
    assert seen == {"pipelines": 2, **dict.fromkeys(OTHERS, 4)}
    [warning] = table_warnings(logs.records)
    assert kv(warning)["table"] == PIPELINES_TABLE
    assert kv(warning)["collector"] == "pipelines"
    assert kv(warning)["retry_every"] == 2 * INTERVAL
    grant = f"GRANT SELECT ON TABLE {PIPELINES_TABLE} TO `{h.sim.client_id}`"
    assert grant in kv(warning)["fix"]

    await h.set_faults({})
    await h.run_for(2 * INTERVAL, each=lambda: scrape_checking_others(h, healthy))

    recovered = await h.scrape()
    assert domain_series(recovered, "pipelines") == domain_series(healthy, "pipelines")
    assert readable(recovered, PIPELINES_TABLE) == 1.0
    assert len(table_warnings(logs.records)) == 1, "one warning for the whole episode"
    assert [r for r in events(logs.records) if r.getMessage() == "refresh recovered"]


async def test_table_unreadable_from_the_start(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness()
    await h.set_faults({"hidden_tables": [PIPELINES_TABLE]})
    await h.start()

    status, _ = await h.get("/-/ready")
    assert status == 200
    scraped = await h.scrape()
    assert not domain_series(scraped, "pipelines")
    for name in OTHERS:
        assert domain_series(scraped, name)
    assert scraped.value("databricks_up") == 1.0
    assert readable(scraped, PIPELINES_TABLE) == 0.0
    [warning] = table_warnings(logs.records)
    assert kv(warning)["table"] == PIPELINES_TABLE

    await h.set_faults({})
    # The seed promises recovery within about ten scrapes: probed again within two intervals.
    await h.run_for(2 * INTERVAL)

    assert domain_series(await h.scrape(), "pipelines")
