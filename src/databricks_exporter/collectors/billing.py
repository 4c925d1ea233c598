"""DBUs, estimated list cost and price changes from the billing tables.

Series:

* `databricks_billing_dbus_total{workspace_id,sku_name,usage_date}`: DBUs per UTC usage date,
  all record types summed (corrections net out, to 0 if need be), over the usage dates that
  overlap the window `--billing-lookback` (30d by default), today included (counter).
* `databricks_billing_cost_estimate_usd{workspace_id,sku_name,usage_date}`: the same usage,
  every unit that has a USD list price, times the list price in effect when the usage started;
  a group none of whose usage matched a price has no series (unknown is not zero).
* `databricks_billing_daily_cost_usd{workspace_id,days_ago}`: the estimated cost of each of
  the last seven complete UTC days (days_ago 1..7, within the billing window), all SKUs
  together; lets alerts compare a day with the one before (gauge, beyond the seed).
* `databricks_billing_latest_usage_timestamp_seconds{workspace_id}`: end of the newest usage
  row in the billing window, i.e. how far billing data has arrived (gauge, beyond the seed).
* `databricks_price_change_events{sku_name}`: list-price rows that took effect within
  `--price-change-lookback` (90d) and replace an earlier price of the same SKU, cloud,
  currency and unit; only SKUs with a change appear (a gauge: the seed's name lacks `_total`).
"""

from __future__ import annotations

from databricks_exporter.collectors.base import (
    CollectorData,
    MetricSpec,
    build_families,
    load_sql,
    seconds_parameter,
    window_text,
)
from databricks_exporter.settings import Windows
from databricks_exporter.warehouse.result import Statement, StatementResult

USAGE = "system.billing.usage"
LIST_PRICES = "system.billing.list_prices"
_LABELS = ("workspace_id", "sku_name", "usage_date")


def metric_specs(windows: Windows) -> tuple[MetricSpec, ...]:
    """The billing metrics, their HELP texts stating the configured windows."""
    dates = (
        f"usage dates (UTC) overlapping the last {window_text(windows.billing_lookback)}, "
        "today included"
    )
    changes = window_text(windows.price_change_lookback)
    return (
        MetricSpec(
            "databricks_billing_dbus_total",
            "counter",
            f"DBUs consumed per workspace, SKU and usage date, all record types summed, over "
            f"the {dates} (sliding window; do not rate())",
            _LABELS,
        ),
        MetricSpec(
            "databricks_billing_cost_estimate_usd",
            "gauge",
            f"Estimated cost in USD at the list price (effective_list) in effect when the usage "
            f"started, per workspace, SKU and usage date, over the {dates}; absent where no "
            "USD price matched",
            _LABELS,
        ),
        MetricSpec(
            "databricks_billing_daily_cost_usd",
            "gauge",
            "Estimated list cost in USD of each of the last seven complete UTC days "
            "(days_ago=1 is yesterday), all SKUs together, within the billing window",
            ("workspace_id", "days_ago"),
        ),
        MetricSpec(
            "databricks_billing_latest_usage_timestamp_seconds",
            "gauge",
            f"End of the newest usage row of the workspace within the {dates}: how far "
            "billing data has arrived",
            ("workspace_id",),
        ),
        MetricSpec(
            "databricks_price_change_events",
            "gauge",
            f"List-price rows that took effect in the last {changes} and replace an earlier "
            "price of the same SKU, cloud, currency and usage unit",
            ("sku_name",),
        ),
    )


class BillingCollector:
    """Daily DBUs and list cost per workspace and SKU, and SKU price changes."""

    name: str = "billing"
    tables: tuple[str, ...] = (USAGE, LIST_PRICES)

    def __init__(self, windows: Windows) -> None:
        self.metrics: tuple[MetricSpec, ...] = metric_specs(windows)
        self._statement = Statement(
            load_sql(__name__.rpartition(".")[0], "billing.sql"),
            {
                "billing_lookback_seconds": seconds_parameter(windows.billing_lookback),
                "price_change_lookback_seconds": seconds_parameter(windows.price_change_lookback),
            },
        )

    def statement(self) -> Statement:
        """The billing statement with its window parameters."""
        return self._statement

    def build(self, result: StatementResult) -> CollectorData:
        """Long-format rows to families."""
        return build_families(self.name, self.metrics, result)
