"""Hand-built billing rows: price change, corrections, NULL workspace, non-DBU, odd SKU.

Times are relative to D, the start of `now`'s UTC date; the expected values are spelled out in
`scenarios.py`. Prices come from the fixed price list in `catalog.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from databricks_exporter.sim.data.billing import identity_metadata, usage_metadata
from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    CLOUD,
    JOBS,
    NETWORKING,
    ODD,
    ODD_TAG_VALUE,
    SCENARIO_WORKSPACE,
    STORAGE,
    Sku,
)
from databricks_exporter.sim.data.loading import Row
from databricks_exporter.sim.data.timeline import Anchors

_PRICING_TAGS = {"team": "scenario", "project": "pricing"}


@dataclass(frozen=True)
class Usage:
    """One scenario usage row; `day` and `hour` place it at D - day + hour."""

    record_id: str
    sku: Sku
    day: int
    hour: int
    quantity: str
    record_type: str = "ORIGINAL"
    workspace_id: str | None = SCENARIO_WORKSPACE
    tags: Mapping[str, str] | None = None
    daily: bool = False


USAGE = (
    Usage("5ce0b111-0000-4000-8000-000000000001", JOBS, 15, 10, "10.5", tags=_PRICING_TAGS),
    Usage("5ce0b111-0000-4000-8000-000000000002", JOBS, 5, 10, "10.5", tags=_PRICING_TAGS),
    Usage("5ce0b111-0000-4000-8000-000000000003", JOBS, 8, 12, "7.123456789012345678", tags={}),
    Usage(
        "5ce0b111-0000-4000-8000-000000000004", JOBS, 8, 12, "-7.123456789012345678",
        "RETRACTION", tags={},
    ),
    Usage("5ce0b111-0000-4000-8000-000000000005", JOBS, 8, 12, "6.5", "RESTATEMENT", tags={}),
    Usage("5ce0b111-0000-4000-8000-000000000006", JOBS, 6, 3, "2.25"),
    Usage("5ce0b111-0000-4000-8000-000000000007", JOBS, 6, 3, "-2.25", "RETRACTION"),
    Usage(
        "5ce0b111-0000-4000-8000-000000000008", NETWORKING, 2, 5, "3.333333333333333333",
        workspace_id=None,
    ),
    Usage("5ce0b111-0000-4000-8000-000000000009", NETWORKING, 9, 5, "1.5", workspace_id=None),
    Usage("5ce0b111-0000-4000-8000-000000000010", STORAGE, 4, 0, "48000.5", daily=True),
    Usage(
        "5ce0b111-0000-4000-8000-000000000011", ODD, 7, 9, "1.0",
        tags={"team": ODD_TAG_VALUE, "project": "odd"},
    ),
)  # fmt: skip


def usage_rows(anchors: Anchors) -> Iterator[Row]:
    """`billing.usage` rows of the billing scenarios."""
    for usage in USAGE:
        start = anchors.day - dt.timedelta(days=usage.day, hours=-usage.hour)
        end = start + (dt.timedelta(days=1) if usage.daily else dt.timedelta(hours=1))
        yield {
            "account_id": ACCOUNT_ID,
            "workspace_id": usage.workspace_id,
            "record_id": usage.record_id,
            "sku_name": usage.sku.name,
            "cloud": CLOUD,
            "usage_start_time": start,
            "usage_end_time": end,
            "usage_date": start.date(),
            "custom_tags": usage.tags,
            "usage_unit": usage.sku.unit,
            "usage_quantity": usage.quantity,
            "usage_metadata": usage_metadata(job_id="9001" if usage.sku is JOBS else None),
            "identity_metadata": identity_metadata(run_as="ana.silva@example.com"),
            "record_type": usage.record_type,
            "ingestion_date": (end + dt.timedelta(days=1)).date(),
            "billing_origin_product": usage.sku.product,
            "product_features": dict(usage.sku.features),
            "usage_type": usage.sku.usage_type,
        }
