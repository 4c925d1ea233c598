"""Cost attribution on hand-built usage: product and tag labels, the fold of tag values, cost
per job priced at the price in effect; literal expectations."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from collectors.test_billing import PRICES, usage
from collectors.test_random import assert_same
from databricks_exporter.collectors.billing import BillingCollector
from databricks_exporter.collectors.names import NameDirectory, NamesCollector
from databricks_exporter.settings import Drilldown, TagLabel, Windows
from databricks_exporter.sim.data.billing import usage_metadata
from reference import (
    JOB_NAMES,
    LIST_PRICES,
    USAGE,
    Expected,
    billing_attributed,
    fetch_tables,
)

TEAM = (TagLabel("team", "team"),)
KEY = ("workspace_id", "sku_name", "usage_date")


def used(
    start: str, quantity: str, team: str | None, job: str | None, **extra: object
) -> dict[str, object]:
    """SKU_A usage of ws1 (0.5 USD/DBU until 11-10, 0.75 after) with a team tag and a job."""
    tags = None if team is None else {"team": team}
    return (
        usage(
            "ws1",
            "SKU_A",
            start,
            quantity,
            custom_tags=tags,
            billing_origin_product="JOBS",
            usage_metadata=usage_metadata(job_id=job),
        )
        | extra
    )


USAGE_ROWS = [
    used("11-09 23:00", "10", "a", "j1"),  # 5.0 at the old price
    used("11-10 00:00", "10", "a", "j1"),  # 7.5 at the new one
    used("11-20 10:00", "4", "b", "j2"),  # 3.0
    used("11-20 10:00", "2", None, None, billing_origin_product=None),  # 1.5: no tag, no job
    used("11-21 10:00", "3", "", "j3"),  # 2.25: an empty tag is unknown
    used("11-21 11:00", "1", "unknown", "j3"),  # 0.75: a literal unknown adds to it
    used("11-22 10:00", "1", "c", "j4"),  # 0.75
    used("11-23 10:00", "5", "a", "j1"),  # corrected away: 0 DBU, 0 USD
    used("11-23 10:00", "-5", "a", "j1", record_type="RETRACTION"),
    used("11-24 10:00", "4", "b", "j5", usage_unit="GB"),  # no GB price for SKU_A: no cost
]
JOB_NAME_ROWS = [
    {"workspace_id": "ws1", "job_id": "j1", "name": "etl", "change_time": at("11-01 00:00")},
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, LIST_PRICES, PRICES)
    insert(con, USAGE, USAGE_ROWS)
    insert(con, JOB_NAMES, JOB_NAME_ROWS)
    yield con
    con.close()


def attributed(con: duckdb.DuckDBPyConnection, drilldown: Drilldown) -> Expected:
    names = NameDirectory(first_load_wait=0)
    collect(con, NamesCollector("jobs", Windows(), names))
    return series(collect(con, BillingCollector(Windows(), drilldown, names)))


def close(actual: dict[tuple[str, ...], float], expected: dict[tuple[str, ...], float]) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(actual[key], value, rel_tol=1e-12, abs_tol=1e-12), key


def test_team_label_missing_empty_and_literal_unknown_tags(con: duckdb.DuckDBPyConnection) -> None:
    exported = attributed(con, Drilldown(billing_tags=TEAM))
    dbus = by_key(exported["databricks_billing_dbus_total"], "usage_date", "team")
    assert dbus == {
        ("2026-11-09", "a"): 10.0,
        ("2026-11-10", "a"): 10.0,
        ("2026-11-20", "b"): 4.0,
        ("2026-11-20", "unknown"): 2.0,
        ("2026-11-21", "unknown"): 4.0,  # '' and 'unknown' are one series
        ("2026-11-22", "c"): 1.0,
        ("2026-11-23", "a"): 0.0,  # corrections net out to a zero series
    }
    close(
        by_key(exported["databricks_billing_cost_estimate_usd"], "usage_date", "team"),
        {
            ("2026-11-09", "a"): 5.0,
            ("2026-11-10", "a"): 7.5,
            ("2026-11-20", "b"): 3.0,
            ("2026-11-20", "unknown"): 1.5,
            ("2026-11-21", "unknown"): 3.0,
            ("2026-11-22", "c"): 0.75,
            ("2026-11-23", "a"): 0.0,
        },
    )


def test_tag_values_beyond_the_top_k_fold_into_other(con: duckdb.DuckDBPyConnection) -> None:
    # Cost per team: a 12.5, unknown 4.5, b 3.0, c 0.75 (b's GB usage has no price).
    exported = attributed(con, Drilldown(billing_tags=TEAM, top_k=2))
    close(
        by_key(exported["databricks_billing_cost_estimate_usd"], "usage_date", "team"),
        {
            ("2026-11-09", "a"): 5.0,
            ("2026-11-10", "a"): 7.5,
            ("2026-11-20", "other"): 3.0,
            ("2026-11-20", "unknown"): 1.5,
            ("2026-11-21", "unknown"): 3.0,
            ("2026-11-22", "other"): 0.75,
            ("2026-11-23", "a"): 0.0,
        },
    )
    data = collect(
        con, BillingCollector(Windows(), Drilldown(billing_tags=TEAM, top_k=2), NameDirectory(0))
    )
    assert [(f.workspace_id, f.label, f.entities) for f in data.folded or ()] == [
        ("ws1", "custom_tags", 2)
    ]


def test_product_label(con: duckdb.DuckDBPyConnection) -> None:
    exported = attributed(con, Drilldown(billing_by_product=True))
    dbus = by_key(exported["databricks_billing_dbus_total"], "usage_date", "billing_origin_product")
    assert dbus[("2026-11-20", "JOBS")] == 4.0
    assert dbus[("2026-11-20", "unknown")] == 2.0


def test_cost_per_job_at_the_price_in_effect_top_k_and_no_job(
    con: duckdb.DuckDBPyConnection,
) -> None:
    exported = attributed(con, Drilldown(billing_by_job=True, top_k=2))
    close(
        by_key(exported["databricks_billing_job_cost_usd"], "workspace_id", "job_id", "job_name"),
        {
            ("ws1", "j1", "etl"): 12.5,  # 5.0 at 0.5 before 11-10, 7.5 at 0.75 after
            ("ws1", "j2", "job-j2"): 3.0,  # j2 and j3 tie at 3.0: the smaller id is kept
            ("ws1", "other", "other"): 3.75,  # j3 3.0 and j4 0.75; j5 has no price
        },
    )
    drilldown = Drilldown(billing_by_job=True, top_k=2)
    data = collect(con, BillingCollector(Windows(), drilldown, NameDirectory(0)))
    assert [(f.label, f.entities) for f in data.folded or ()] == [("job_id", 2)], "j3, j4"
    # Usage without a job id (1.5 USD) is in no job's cost.
    assert "databricks_billing_job_cost_usd" not in attributed(con, Drilldown(billing_tags=TEAM))


def test_unsplit_billing_metrics_keep_their_exact_values(con: duckdb.DuckDBPyConnection) -> None:
    plain = series(collect(con, BillingCollector(Windows())))
    everything = Drilldown(billing_by_job=True, billing_by_product=True, billing_tags=TEAM)
    drilled = attributed(con, everything)
    for metric in (
        "databricks_billing_daily_cost_usd",
        "databricks_billing_latest_usage_timestamp_seconds",
        "databricks_price_change_events",
    ):
        assert drilled[metric] == plain[metric], metric
    only_jobs = attributed(con, Drilldown(billing_by_job=True))
    for metric in ("databricks_billing_dbus_total", "databricks_billing_cost_estimate_usd"):
        assert only_jobs[metric] == plain[metric], "no label added: the same series exactly"


def test_reference_agrees(con: duckdb.DuckDBPyConnection) -> None:
    tables = fetch_tables(con)
    for drilldown in (
        Drilldown(billing_tags=TEAM, top_k=2),
        Drilldown(billing_by_product=True, billing_by_job=True, top_k=1),
    ):
        assert_same(
            attributed(con, drilldown), billing_attributed(tables, NOW, Windows(), drilldown)
        )


def test_help_names_the_tag_keys() -> None:
    tags = (TagLabel("team", "team"), TagLabel("cost_center", "Cost Center"))
    collector = BillingCollector(Windows(), Drilldown(billing_tags=tags, billing_by_product=True))
    spec = next(s for s in collector.metrics if s.name == "databricks_billing_dbus_total")
    assert spec.labels == (*KEY, "billing_origin_product", "team", "cost_center")
    assert "team from custom_tags['team'], cost_center from custom_tags['Cost Center']" in spec.help


def test_quantities_with_18_decimals_are_summed_exactly(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, USAGE, [used("11-24 12:00", "0.000000000000000001", "z", "j9")] * 3)
    exported = attributed(con, Drilldown(billing_tags=TEAM))
    dbus = by_key(exported["databricks_billing_dbus_total"], "usage_date", "team")
    assert dbus[("2026-11-24", "z")] == float(Decimal("0.000000000000000003"))
