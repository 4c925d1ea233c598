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

Cost attribution (`billing_attributed.sql`, any of the options on):

* `--collector.billing.by-product` adds `billing_origin_product` to the DBU and cost metrics.
* `--collector.billing.tag-label=LABEL[=TAG_KEY]` (up to five) adds a label per `custom_tags`
  key to the DBU and cost metrics (a missing tag is `unknown`); per workspace the top K
  combinations of tag values by cost are kept, the others are `other` in every tag label.
* `--collector.billing.by-job` adds
  `databricks_billing_job_cost_usd{workspace_id,job_id,job_name}`: the list cost of the usage
  with a `usage_metadata.job_id` over the billing window, the top K jobs per workspace by cost,
  the others as `other`; usage without a job id is not in it.
"""

from __future__ import annotations

from dataclasses import replace

from databricks_exporter.collectors.base import (
    MetricSpec,
    StatementCollector,
    no_derivations,
    seconds_parameter,
    window_text,
)
from databricks_exporter.collectors.drilldown import entity_name, top_k_parameter
from databricks_exporter.collectors.names import NameDirectory
from databricks_exporter.settings import MAX_TAG_LABELS, Drilldown, Windows
from databricks_exporter.warehouse.result import Parameter

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


_ATTRIBUTED = ("databricks_billing_dbus_total", "databricks_billing_cost_estimate_usd")


def attributed_specs(
    specs: tuple[MetricSpec, ...], drilldown: Drilldown, windows: Windows
) -> tuple[MetricSpec, ...]:
    """The billing metrics with the attribution labels, and the cost per job if asked for."""
    extra: tuple[str, ...] = ("billing_origin_product",) if drilldown.billing_by_product else ()
    extra += tuple(tag.label for tag in drilldown.billing_tags)
    tags = ", ".join(f"{t.label} from custom_tags[{t.key!r}]" for t in drilldown.billing_tags)
    suffix = (
        f"; {tags} (missing: unknown; per workspace the {drilldown.top_k} combinations of tag "
        'values with the most cost kept, the others together as "other")'
        if tags
        else ""
    )
    result = tuple(
        replace(spec, labels=spec.labels + extra, help=spec.help + suffix)
        if spec.name in _ATTRIBUTED
        else spec
        for spec in specs
    )
    if drilldown.billing_by_job:
        result += (job_cost_spec(drilldown, windows),)
    return result


def job_cost_spec(drilldown: Drilldown, windows: Windows) -> MetricSpec:
    """`databricks_billing_job_cost_usd`."""
    return MetricSpec(
        "databricks_billing_job_cost_usd",
        "gauge",
        "Estimated list cost in USD of each job's usage (usage_metadata.job_id) over the usage "
        f"dates overlapping the last {window_text(windows.billing_lookback)}, priced as "
        f"databricks_billing_cost_estimate_usd; the {drilldown.top_k} jobs of each workspace "
        'with the most cost, the others together as job_id="other"; usage without a job id '
        "is not counted",
        ("workspace_id", "job_id", "job_name"),
    )


def _attribution_parameters(drilldown: Drilldown) -> dict[str, Parameter]:
    keys: list[str | None] = [tag.key for tag in drilldown.billing_tags]
    keys += [None] * (MAX_TAG_LABELS - len(keys))
    parameters = {f"tag_{n}": Parameter(key) for n, key in enumerate(keys, start=1)}
    parameters["by_product"] = Parameter(drilldown.billing_by_product, "BOOLEAN")
    parameters["by_job"] = Parameter(drilldown.billing_by_job, "BOOLEAN")
    parameters["top_k"] = top_k_parameter(drilldown.top_k)
    return parameters


class BillingCollector(StatementCollector):
    """Daily DBUs and list cost per workspace and SKU, and SKU price changes."""

    name: str = "billing"
    tables: tuple[str, ...] = (USAGE, LIST_PRICES)

    def __init__(
        self,
        windows: Windows,
        drilldown: Drilldown | None = None,
        names: NameDirectory | None = None,
    ) -> None:
        drilldown = drilldown or Drilldown()
        parameters = {
            "billing_lookback_seconds": seconds_parameter(windows.billing_lookback),
            "price_change_lookback_seconds": seconds_parameter(windows.price_change_lookback),
        }
        if not drilldown.billing_attributed:
            super().__init__(metric_specs(windows), "billing.sql", parameters)
            return
        super().__init__(
            attributed_specs(metric_specs(windows), drilldown, windows),
            "billing_attributed.sql",
            parameters | _attribution_parameters(drilldown),
            drilldown=True,
            # A tag label is read from the tag_N column of its slot.
            columns={tag.label: f"tag_{n}" for n, tag in enumerate(drilldown.billing_tags, 1)},
            derived=(
                entity_name(names, "jobs", self.name)
                if drilldown.billing_by_job
                else no_derivations
            ),
        )
