"""Every series of the 18 seed metrics, scraped over HTTP, against an independent computation.

The exporter runs against the simulated workspace (small preset, seed 1, clock frozen); the
expected values come from `tests/reference.py`, plain Python over the raw rows, never from the
exporter's SQL. The named hard cases are then checked against literal values documented with
the generator's scenarios (`databricks_exporter.sim.data.scenarios`).
"""

from __future__ import annotations

import gzip
import math

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from databricks_exporter.sim.data.catalog import (
    ODD_RESULT_STATE,
    ODD_SKU,
    ODD_UPDATE_TYPE,
    OVERLAP_WORKSPACE,
    SCENARIO_WORKSPACE,
)
from reference import Expected, expected_metrics, fetch_tables, from_samples, labels

from .conftest import NOW, Running

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEED_METRICS = {
    "databricks_billing_dbus_total": ("counter", {"workspace_id", "sku_name", "usage_date"}),
    "databricks_billing_cost_estimate_usd": ("gauge", {"workspace_id", "sku_name", "usage_date"}),
    "databricks_price_change_events": ("gauge", {"sku_name"}),
    "databricks_job_runs_total": ("counter", {"workspace_id"}),
    "databricks_job_run_status": ("gauge", {"workspace_id", "status"}),
    "databricks_job_run_duration_seconds": ("gauge", {"workspace_id", "quantile"}),
    "databricks_task_retries_total": ("counter", {"workspace_id"}),
    "databricks_job_sla_miss_total": ("counter", {"workspace_id"}),
    "databricks_pipeline_runs_total": ("counter", {"workspace_id"}),
    "databricks_pipeline_run_status": ("gauge", {"workspace_id", "status"}),
    "databricks_pipeline_run_duration_seconds": ("gauge", {"workspace_id", "quantile"}),
    "databricks_pipeline_retry_events_total": ("counter", {"workspace_id"}),
    "databricks_pipeline_freshness_lag_seconds": ("gauge", {"workspace_id", "stage"}),
    "databricks_queries_total": ("counter", {"workspace_id"}),
    "databricks_query_errors_total": ("counter", {"workspace_id"}),
    "databricks_query_duration_seconds": ("gauge", {"workspace_id", "quantile"}),
    "databricks_queries_running": ("gauge", {"workspace_id"}),
    "databricks_up": ("gauge", set()),
}
#: Float sums whose order differs between the warehouse and Python: equal up to rounding.
SUMS = {
    "databricks_billing_cost_estimate_usd",
    "databricks_billing_daily_cost_usd",
    "databricks_pipeline_freshness_lag_seconds",
}
#: Beyond the seed: what alerts need and PromQL cannot derive from date labels.
EXTRAS = {"databricks_billing_daily_cost_usd", "databricks_billing_latest_usage_timestamp_seconds"}
S, Q = SCENARIO_WORKSPACE, OVERLAP_WORKSPACE


async def scraped(running: Running) -> Expected:
    status, body = await running.scrape()
    assert status == 200
    families = text_string_to_metric_families(body)
    return from_samples(sample for family in families for sample in family.samples)


async def test_every_series_equals_the_reference(running: Running) -> None:
    actual = await scraped(running)
    expected = expected_metrics(fetch_tables(running.sim.connection), NOW)
    assert expected.keys() == (set(SEED_METRICS) | EXTRAS) - {"databricks_up"}
    for metric, series in expected.items():
        assert series, f"{metric}: the generated data should produce series"
        assert actual[metric].keys() == series.keys(), metric
        for key, value in series.items():
            if metric in SUMS:
                assert math.isclose(actual[metric][key], value, rel_tol=1e-12), (metric, key)
            else:
                assert actual[metric][key] == value, (metric, key)
    assert actual["databricks_up"] == {frozenset(): 1.0}


async def test_seed_names_types_and_labels(running: Running) -> None:
    _, body = await running.scrape()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    for name, (kind, label_names) in SEED_METRICS.items():
        family = families[name.removesuffix("_total") if kind == "counter" else name]
        assert family.type == kind, name
        assert {tuple(sorted(s.labels)) for s in family.samples} == {tuple(sorted(label_names))}
        assert f"# TYPE {name} {kind}\n" in body


async def test_long_job_run_counted_once_with_full_duration_and_sla_miss(running: Running) -> None:
    m = await scraped(running)
    assert m["databricks_job_runs_total"][labels(workspace_id=S)] == 8
    status = {
        dict(k)["status"]: v
        for k, v in m["databricks_job_run_status"].items()
        if dict(k)["workspace_id"] == S
    }
    assert status == {"SUCCEEDED": 4, "FAILED": 1, "TIMED_OUT": 1, ODD_RESULT_STATE: 1}
    durations = m["databricks_job_run_duration_seconds"]
    assert durations[labels(workspace_id=S, quantile="0.5")] == 9000
    assert durations[labels(workspace_id=S, quantile="0.95")] == 153900
    assert durations[labels(workspace_id=S, quantile="0.99")] == 153900
    assert m["databricks_job_sla_miss_total"][labels(workspace_id=S)] == 4
    assert m["databricks_task_retries_total"][labels(workspace_id=S)] == 3


async def test_pipeline_restarts_states_and_freshness(running: Running) -> None:
    m = await scraped(running)
    assert m["databricks_pipeline_runs_total"][labels(workspace_id=S)] == 7
    status = {
        dict(k)["status"]: v
        for k, v in m["databricks_pipeline_run_status"].items()
        if dict(k)["workspace_id"] == S
    }
    assert status == {"FAILED": 2, "COMPLETED": 3, "CANCELED": 1}
    durations = m["databricks_pipeline_run_duration_seconds"]
    assert durations[labels(workspace_id=S, quantile="0.5")] == 1200
    assert durations[labels(workspace_id=S, quantile="0.99")] == 6300
    assert m["databricks_pipeline_retry_events_total"][labels(workspace_id=S)] == 2
    lag = {
        dict(k)["stage"]: v
        for k, v in m["databricks_pipeline_freshness_lag_seconds"].items()
        if dict(k)["workspace_id"] == S
    }
    minutes = 60
    assert lag == {
        "REFRESH": (380 + 1450) / 2 * minutes,
        "FULL_REFRESH": 2880 * minutes,
        "VALIDATE": 190 * minutes,
        ODD_UPDATE_TYPE: 370 * minutes,
    }


async def test_billing_price_in_effect_corrections_and_null_workspace(running: Running) -> None:
    m = await scraped(running)
    dbus, cost = m["databricks_billing_dbus_total"], m["databricks_billing_cost_estimate_usd"]

    def day(
        date: str, sku: str = "PREMIUM_JOBS_COMPUTE", ws: str = S
    ) -> frozenset[tuple[str, str]]:
        return labels(workspace_id=ws, sku_name=sku, usage_date=date)

    # 0.15 USD/DBU until 2026-11-15, 0.20 after: last month's usage at last month's price
    assert (dbus[day("2026-11-10")], cost[day("2026-11-10")]) == (10.5, 1.575)
    assert (dbus[day("2026-11-20")], cost[day("2026-11-20")]) == (10.5, 2.1)
    # ORIGINAL, RETRACTION and RESTATEMENT net out; a lone retraction leaves a zero series
    assert (dbus[day("2026-11-17")], cost[day("2026-11-17")]) == (6.5, 1.3)
    assert (dbus[day("2026-11-19")], cost[day("2026-11-19")]) == (0.0, 0.0)
    null_sku = "PREMIUM_SERVERLESS_CONNECTIVITY"
    assert dbus[day("2026-11-23", null_sku, "unknown")] == 3.3333333333333335
    assert dbus[day("2026-11-16", null_sku, "unknown")] == 1.5
    storage = day("2026-11-21", "PREMIUM_DEFAULT_STORAGE_US_EAST_N_VIRGINIA")
    assert storage not in dbus, "GB_HOUR is not DBU"
    assert math.isclose(cost[storage], 48000.5 * 0.000031, rel_tol=1e-15)
    assert dbus[day("2026-11-18", ODD_SKU)] == 1.0


async def test_queries_overlap_sweep_and_own_statements_excluded(running: Running) -> None:
    m = await scraped(running)
    for metric, value in (
        ("databricks_queries_total", 10),
        ("databricks_query_errors_total", 2),
        ("databricks_queries_running", 4),
    ):
        assert m[metric][labels(workspace_id=Q)] == value, metric
    durations = m["databricks_query_duration_seconds"]
    assert [durations[labels(workspace_id=Q, quantile=q)] for q in ("0.5", "0.95", "0.99")] == [
        300,
        600,
        600,
    ]
    assert m["databricks_queries_total"][labels(workspace_id=S)] == 2
    assert m["databricks_queries_running"][labels(workspace_id=S)] == 1
    own = running.sim.connection.execute(
        "SELECT count(*) FROM databricks_system.query.history "
        "WHERE query_tags['app'] = 'databricks-exporter' AND executed_by = ?",
        [running.sim.client_id],
    ).fetchone()
    assert own is not None
    assert own[0] >= 4, "the exporter's own statements were recorded, so exclusion is tested"


async def test_openmetrics_and_gzip_carry_the_same_values(running: Running) -> None:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(
            running.base_url + "/metrics",
            headers={
                "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
                "Accept-Encoding": "gzip",
            },
        ) as response,
    ):
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        body = gzip.decompress(await response.read()).decode()
    assert body.endswith("# EOF\n")
    families = parse_om(body)  # type: ignore[no-untyped-call]
    om = from_samples(s for family in families for s in family.samples)
    text = await scraped(running)
    for metric in SEED_METRICS:
        assert om[metric] == text[metric], metric
