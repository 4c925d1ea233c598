"""Every drill-down on, over HTTP: the exporter and the simulated workspace (small preset, seed
1, clock frozen) against the Python reference, with latest, renamed, deleted and missing names,
the fold into `other`, the folded-entities self-metric and the label values with quotes,
backslashes, unicode and newlines that the simulated data holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from databricks_exporter.app import Exporter
from databricks_exporter.clock import ManualClock
from databricks_exporter.collectors import names
from databricks_exporter.settings import Drilldown, TagLabel
from databricks_exporter.sim import SimulatedWorkspace
from databricks_exporter.sim.data.catalog import (
    ODD_JOB_NAME,
    ODD_PIPELINE_NAME,
    ODD_SKU,
    ODD_TAG_VALUE,
    SCENARIO_WORKSPACE,
)
from reference import (
    Expected,
    expected_folded,
    expected_metrics,
    fetch_tables,
    from_samples,
    labels,
)

from .conftest import NOW, SEED, Running, settings_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: K = 8 keeps the 8 active jobs of the scenario workspace (odd and missing names included)
#: and folds 7 jobs of each bulk workspace.
DRILLDOWN = Drilldown(
    jobs_by_job=True,
    jobs_by_task=True,
    pipelines_by_pipeline=True,
    queries_by_warehouse=True,
    billing_by_job=True,
    billing_by_product=True,
    billing_tags=(TagLabel("team", "team"), TagLabel("cost_project", "project")),
    top_k=8,
)
SUMS = {
    "databricks_billing_cost_estimate_usd",
    "databricks_billing_daily_cost_usd",
    "databricks_billing_job_cost_usd",
    "databricks_pipeline_freshness_lag_seconds",
}
S = SCENARIO_WORKSPACE
NAMES_RUNNERS = ("job_names", "pipeline_names", "warehouse_names")


async def start(sim: SimulatedWorkspace, drilldown: Drilldown) -> Running:
    """An exporter with `drilldown` on `sim`, once every collector has refreshed."""
    settings = dataclasses.replace(settings_for(sim), drilldown=drilldown)
    exporter = Exporter(settings, clock=ManualClock(start=NOW.timestamp()))
    await exporter.start()
    async with asyncio.timeout(60):
        while not exporter.scheduler.ready():  # noqa: ASYNC110  (polling, with a deadline)
            await asyncio.sleep(0.02)
    host, port = exporter.web.addresses[0]
    return Running(sim, exporter, f"http://{host}:{port}")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def drilled() -> AsyncIterator[Running]:
    sim = SimulatedWorkspace(seed=SEED, scale="small", now=NOW)
    await sim.start()
    try:
        running = await start(sim, DRILLDOWN)
        try:
            yield running
        finally:
            await running.exporter.stop()
    finally:
        await sim.stop()


async def scraped(running: Running, accept: str = "text/plain") -> Expected:
    status, body = await running.scrape(Accept=accept)
    assert status == 200
    if accept == "text/plain":
        families = list(text_string_to_metric_families(body))
    else:
        families = list(parse_om(body))  # type: ignore[no-untyped-call]
    return from_samples(sample for family in families for sample in family.samples)


async def test_every_drilled_series_equals_the_reference(drilled: Running) -> None:
    actual = await scraped(drilled)
    expected = expected_metrics(fetch_tables(drilled.sim.connection), NOW, None, DRILLDOWN)
    for metric, series in expected.items():
        assert series, f"{metric}: the generated data should produce series"
        assert actual[metric].keys() == series.keys(), metric
        for key, value in series.items():
            if metric in SUMS:
                assert math.isclose(actual[metric][key], value, rel_tol=1e-12), (metric, key)
            else:
                assert actual[metric][key] == value, (metric, key)


async def test_folded_entities_self_metric(drilled: Running) -> None:
    actual = (await scraped(drilled))["databricks_exporter_drilldown_folded_entities"]
    tables = fetch_tables(drilled.sim.connection)
    expected = expected_folded(tables, NOW, settings_for(drilled.sim).windows, DRILLDOWN)
    assert actual == {
        labels(collector=collector, workspace_id=workspace, label=label): float(count)
        for (collector, workspace, label), count in expected.items()
    }
    assert actual[labels(collector="jobs", workspace_id=S, label="job_id")] == 0
    assert max(actual.values()) > 0, "K = 8 folds some bulk jobs"


async def test_names_are_latest_renamed_deleted_missing_and_odd(drilled: Running) -> None:
    runs = (await scraped(drilled))["databricks_job_runs_total"]
    names_of = {
        dict(k)["job_id"]: dict(k)["job_name"] for k in runs if dict(k)["workspace_id"] == S
    }
    assert names_of == {
        "9001": "scenario_three_hours_v2",  # renamed 3 days ago
        "9002": "scenario_repaired",
        "9003": "scenario_task_retries",
        "9004": "scenario_in_progress",
        "9005": "scenario_before_window",
        "9006": ODD_JOB_NAME,
        "9008": "scenario_short_crossing",
        "9009": "job-9009",  # a submit run: no lakeflow.jobs row
    }
    deleted = drilled.sim.connection.execute(
        "SELECT workspace_id, job_id, name FROM databricks_system.lakeflow.jobs "
        "WHERE delete_time IS NOT NULL AND workspace_id <> ?",
        [S],
    ).fetchall()
    assert deleted, "the bulk has a deleted job per workspace"
    for workspace, job, name in deleted:
        assert runs[labels(workspace_id=workspace, job_id=job, job_name=name)] >= 1
    pipelines = (await scraped(drilled))["databricks_pipeline_runs_total"]
    pipeline_names = {dict(k)["pipeline_name"] for k in pipelines if dict(k)["workspace_id"] == S}
    assert pipeline_names == {
        "scenario_restarts",
        "scenario_in_progress",
        "scenario_stages_v2",
        ODD_PIPELINE_NAME,
    }


async def test_odd_label_values_are_escaped_and_parse_back(drilled: Running) -> None:
    _, body = await drilled.scrape()
    assert 'job_name="nightly \\"etl\\"\\\\ ünïcødé ✓\\nsecond line"' in body
    assert 'team="data \\"eng\\"\\\\team ünïcødé ✓\\nline 2"' in body
    dbus = (await scraped(drilled))["databricks_billing_dbus_total"]
    odd = labels(
        workspace_id=S,
        sku_name=ODD_SKU,
        usage_date="2026-11-18",
        billing_origin_product="JOBS",
        team=ODD_TAG_VALUE,
        cost_project="odd",
    )
    assert dbus[odd] == 1.0


async def test_openmetrics_carries_the_same_drilled_values(drilled: Running) -> None:
    text = await scraped(drilled)
    om = await scraped(drilled, "application/openmetrics-text")
    for metric in ("databricks_job_runs_total", "databricks_billing_job_cost_usd"):
        assert om[metric] == text[metric], metric


async def test_names_runners_show_in_the_self_metrics(drilled: Running) -> None:
    m = await scraped(drilled)
    for runner in NAMES_RUNNERS:
        key = labels(collector=runner)
        assert m["databricks_exporter_collector_last_refresh_success"][key] == 1
        assert m["databricks_exporter_collector_series"][key] == 0
    readable = m["databricks_exporter_table_readable"]
    for table in ("system.lakeflow.jobs", "system.lakeflow.pipelines", "system.compute.warehouses"):
        assert readable[labels(table=table)] == 1


async def test_unreadable_warehouse_names_leave_names_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(names, "FIRST_LOAD_WAIT", 0.2)
    hidden = {"hidden_tables": ["system.compute.warehouses"]}
    async with SimulatedWorkspace(seed=SEED, scale="small", now=NOW, faults=hidden) as sim:
        running = await start(sim, Drilldown(queries_by_warehouse=True))
        try:
            m = await scraped(running)
        finally:
            await running.exporter.stop()
    queries = m["databricks_queries_total"]
    assert queries
    assert {dict(k)["warehouse_name"] for k in queries} == {"unknown"}
    assert {dict(k)["warehouse_id"] for k in queries} > {"unknown"}, "ids are still there"
    assert m["databricks_exporter_table_readable"][labels(table="system.compute.warehouses")] == 0
    runner = labels(collector="warehouse_names")
    assert m["databricks_exporter_collector_last_refresh_success"][runner] == 0
