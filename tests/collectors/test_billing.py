"""Billing collector on hand-built usage and prices: literal expectations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest

from collectors.fixtures import NOW, at, by_key, collect, insert, series
from collectors.sqlrun import create_database
from databricks_exporter.collectors.billing import BillingCollector
from databricks_exporter.settings import Windows
from reference import LIST_PRICES, USAGE, Expected, billing, fetch_tables

ODD_SKU = 'SKU "ü" \\\n'


def usage(
    workspace: str | None, sku: str, start: str, quantity: str, **extra: object
) -> dict[str, object]:
    begins = at(start)
    return {
        "workspace_id": workspace,
        "sku_name": sku,
        "cloud": "AWS",
        "usage_unit": "DBU",
        "record_type": "ORIGINAL",
        "usage_start_time": begins,
        "usage_end_time": begins + dt.timedelta(hours=1),
        "usage_date": begins.date(),
        "usage_quantity": Decimal(quantity),
    } | extra


def price(
    sku: str, start: str, end: str | None, list_price: str, **extra: object
) -> dict[str, object]:
    value = Decimal(list_price)
    return {
        "sku_name": sku,
        "cloud": "AWS",
        "currency_code": "USD",
        "usage_unit": "DBU",
        "price_start_time": at(start),
        "price_end_time": None if end is None else at(end),
        "pricing": {"default": value, "promotional": None, "effective_list": {"default": value}},
    } | extra


PRICES = [
    # SKU_A on AWS changes price inside the billing window (11-10): a change event.
    price("SKU_A", "2026-01-01 00:00", "11-10 00:00", "0.5"),
    price("SKU_A", "11-10 00:00", None, "0.75"),
    # Not USD: never used for cost; its first price is no change.
    price("SKU_A", "2026-01-01 00:00", None, "0.4", currency_code="EUR"),
    # SKU_A on AZURE: a second change (10-01) of the same SKU, counted under sku_name only.
    price("SKU_A", "2026-01-01 00:00", "10-01 00:00", "0.5625", cloud="AZURE"),
    price("SKU_A", "10-01 00:00", None, "0.625", cloud="AZURE"),
    # SKU_B: first-ever price, a change long before the 90d lookback, one in the future.
    price("SKU_B", "2025-01-01 00:00", "2026-05-01 00:00", "1"),
    price("SKU_B", "2026-05-01 00:00", "12-01 00:00", "2"),
    price("SKU_B", "12-01 00:00", None, "3"),
    # A storage SKU priced per GB.
    price("SKU_C", "2026-01-01 00:00", None, "0.25", usage_unit="GB"),
    # First price inside the lookback (no change), then a change.
    price(ODD_SKU, "11-01 00:00", "11-20 00:00", "1"),
    price(ODD_SKU, "11-20 00:00", None, "2"),
]

USAGE_ROWS = [
    # Outside the dates (the first date is 10-26, the date of now - 30d; no future dates).
    usage("ws1", "SKU_A", "10-25 23:00", "100"),
    usage("ws1", "SKU_A", "11-26 01:00", "100"),
    usage("ws1", "SKU_A", "10-26 00:00", "1"),
    # Priced at 0.5 on 11-09, at 0.75 from 11-10 00:00 (the old price's end is exclusive).
    usage("ws1", "SKU_A", "11-09 23:00", "10"),
    usage("ws1", "SKU_A", "11-10 00:00", "10"),
    # A correction: retraction and restatement net to 6.
    usage("ws1", "SKU_A", "11-10 05:00", "4"),
    usage("ws1", "SKU_A", "11-10 05:00", "-4", record_type="RETRACTION"),
    usage("ws1", "SKU_A", "11-10 05:00", "6", record_type="RESTATEMENT"),
    # A retraction without restatement nets the day to zero: 0 is exported.
    usage("ws1", "SKU_A", "11-11 01:00", "2"),
    usage("ws1", "SKU_A", "11-11 01:00", "-2", record_type="RETRACTION"),
    # Same SKU on another cloud: its own price.
    usage("ws1", "SKU_A", "11-12 10:00", "2", cloud="AZURE"),
    # No workspace id.
    usage(None, "SKU_A", "11-20 03:00", "8"),
    # Not DBUs: cost only.
    usage("ws2", "SKU_C", "11-20 00:00", "40", usage_unit="GB"),
    # No price at all: DBUs only.
    usage("ws2", "SKU_D", "11-21 00:00", "3"),
    # Label values with quotes, backslash, newline and unicode.
    usage("ws2", ODD_SKU, "11-20 00:00", "1.5"),
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = create_database()
    insert(con, LIST_PRICES, PRICES)
    insert(con, USAGE, USAGE_ROWS)
    yield con
    con.close()


@pytest.fixture
def exported(con: duckdb.DuckDBPyConnection) -> Expected:
    return series(collect(con, BillingCollector(Windows())))


KEY = ("workspace_id", "sku_name", "usage_date")


def test_dbus_per_day_with_corrections_netted(exported: Expected) -> None:
    assert by_key(exported["databricks_billing_dbus_total"], *KEY) == {
        ("ws1", "SKU_A", "2026-10-26"): 1.0,
        ("ws1", "SKU_A", "2026-11-09"): 10.0,
        ("ws1", "SKU_A", "2026-11-10"): 16.0,
        ("ws1", "SKU_A", "2026-11-11"): 0.0,
        ("ws1", "SKU_A", "2026-11-12"): 2.0,
        ("unknown", "SKU_A", "2026-11-20"): 8.0,
        ("ws2", "SKU_D", "2026-11-21"): 3.0,
        ("ws2", ODD_SKU, "2026-11-20"): 1.5,
    }


def test_cost_uses_the_price_in_effect_at_usage_start(exported: Expected) -> None:
    assert by_key(exported["databricks_billing_cost_estimate_usd"], *KEY) == {
        ("ws1", "SKU_A", "2026-10-26"): 0.5,
        ("ws1", "SKU_A", "2026-11-09"): 5.0,
        ("ws1", "SKU_A", "2026-11-10"): 7.5 + 4.5,
        ("ws1", "SKU_A", "2026-11-11"): 0.0,
        ("ws1", "SKU_A", "2026-11-12"): 1.25,
        ("unknown", "SKU_A", "2026-11-20"): 6.0,
        ("ws2", "SKU_C", "2026-11-20"): 10.0,
        ("ws2", ODD_SKU, "2026-11-20"): 3.0,
    }


def test_price_changes_replace_an_earlier_price(exported: Expected) -> None:
    assert by_key(exported["databricks_price_change_events"], "sku_name") == {
        ("SKU_A",): 2.0,
        (ODD_SKU,): 1.0,
    }


def test_windows_are_parameters(con: duckdb.DuckDBPyConnection) -> None:
    windows = Windows(billing_lookback=86400, price_change_lookback=10 * 86400)
    exported = series(collect(con, BillingCollector(windows)))
    # One day back from 11-25 12:00 covers 11-24 and 11-25: nothing was used then.
    assert exported["databricks_billing_dbus_total"] == {}
    assert by_key(exported["databricks_price_change_events"], "sku_name") == {(ODD_SKU,): 1.0}


def test_overlapping_prices_count_once(con: duckdb.DuckDBPyConnection) -> None:
    # A duplicate, overlapping price row must not double the cost: the latest start wins.
    insert(con, LIST_PRICES, [price("SKU_A", "11-09 00:00", None, "1")])
    exported = series(collect(con, BillingCollector(Windows())))
    cost = by_key(exported["databricks_billing_cost_estimate_usd"], *KEY)
    assert cost[("ws1", "SKU_A", "2026-11-09")] == 10.0
    assert cost[("ws1", "SKU_A", "2026-11-10")] == 12.0  # 0.75 started later, on 11-10
    assert billing(fetch_tables(con), NOW, Windows()) == exported


def test_null_quantities_and_prices_never_withhold_a_metric(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # A NULL quantity is no usage; a price row without an effective list price is no price.
    empty = {"default": None, "promotional": None, "effective_list": None}
    insert(con, LIST_PRICES, [price("SKU_E", "2026-01-01 00:00", None, "1") | {"pricing": empty}])
    insert(con, USAGE, [usage("ws3", "SKU_E", "11-20 00:00", "0") | {"usage_quantity": None}])
    insert(con, USAGE, [usage("ws3", "SKU_A", "11-20 00:00", "0") | {"usage_quantity": None}])
    data = collect(con, BillingCollector(Windows()))
    assert data.rejected == ()
    exported = series(data)
    assert (
        by_key(exported["databricks_billing_dbus_total"], *KEY)[("ws3", "SKU_E", "2026-11-20")]
        == 0.0
    )
    cost = by_key(exported["databricks_billing_cost_estimate_usd"], *KEY)
    assert ("ws3", "SKU_E", "2026-11-20") not in cost
    assert cost[("ws3", "SKU_A", "2026-11-20")] == 0.0
    assert billing(fetch_tables(con), NOW, Windows()) == exported


def test_reference_agrees(con: duckdb.DuckDBPyConnection, exported: Expected) -> None:
    assert billing(fetch_tables(con), NOW, Windows()) == exported


def test_daily_cost_of_the_last_complete_days(exported: Expected) -> None:
    # now is 11-25 12:00: days_ago 1..7 are 11-24 back to 11-18; today is left out.
    # 11-20: the NULL workspace's 8 DBU at 0.75; ws2's 40 GB at 0.25 plus 1.5 DBU at 2.
    assert by_key(exported["databricks_billing_daily_cost_usd"], "workspace_id", "days_ago") == {
        ("unknown", "5"): 6.0,
        ("ws2", "5"): 13.0,
    }


def test_latest_usage_is_the_end_of_the_newest_row_in_the_window(exported: Expected) -> None:
    # The row dated 11-26 is in the future and ignored; 11-12 10:00-11:00 is ws1's newest.
    assert by_key(
        exported["databricks_billing_latest_usage_timestamp_seconds"], "workspace_id"
    ) == {
        ("ws1",): 1794481200.0,  # 2026-11-12 11:00 UTC
        ("unknown",): 1795147200.0,  # 2026-11-20 04:00 UTC
        ("ws2",): 1795222800.0,  # 2026-11-21 01:00 UTC
    }
