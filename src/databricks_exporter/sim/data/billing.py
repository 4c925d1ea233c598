"""Billing: the fixed `billing.list_prices` and, through `billing.sql`, bulk `billing.usage`.

A usage *source* is one thing that consumes: a job, a warehouse, a pipeline, an all-purpose
cluster, a workspace's default storage (daily rows in GB_HOUR), a model-serving endpoint
(hourly rows in TOKEN, whole numbers) or AI functions (hourly, only since that SKU's first
price 20 days ago). Each source emits rows for a random share of the hours of the last
`billing_days` days up to the hour of `now`; quantities are DECIMAL(38,18) with 18-digit
fractions. About 1 % of rows get a RETRACTION (the exact negation) and most of those a
RESTATEMENT (a corrected value). All-purpose cluster 1 and the storage rows carry no custom
tags; jobs without a team carry none either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import duckdb

from databricks_exporter.sim.data import rand
from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    AI_FUNCTIONS,
    ALL_PURPOSE,
    CLOUD,
    DLT_ADVANCED,
    DLT_CORE,
    JOBS,
    JOBS_SERVERLESS,
    PROJECTS,
    SKUS,
    SQL_CLASSIC,
    SQL_PRO,
    SQL_SERVERLESS,
    STORAGE,
    TEAMS,
    TOKENS,
    USERS,
    PricePoint,
    Sku,
)
from databricks_exporter.sim.data.jobs import CLASSES, Job
from databricks_exporter.sim.data.loading import (
    Row,
    insert_rows,
    load_temp,
    map_entries,
    run_script,
)
from databricks_exporter.sim.data.pipelines import Pipeline
from databricks_exporter.sim.data.plan import Plan
from databricks_exporter.sim.data.timeline import HOUR, micros
from databricks_exporter.sim.data.warehouses import Warehouse

_DAY = dt.timedelta(days=1)
_METADATA = (
    "cluster_id", "job_id", "job_run_id", "warehouse_id", "instance_pool_id", "node_type",
    "notebook_id", "notebook_path", "dlt_pipeline_id", "dlt_update_id", "dlt_maintenance_id",
    "endpoint_name", "endpoint_id", "run_name", "job_name", "app_id", "app_name",
    "budget_policy_id",
)  # fmt: skip
_IDENTITY = ("run_as", "created_by", "owned_by", "run_by")
_WAREHOUSE_SKUS = {"PRO": SQL_PRO, "SERVERLESS": SQL_SERVERLESS, "CLASSIC": SQL_CLASSIC}


def usage_metadata(**given: str | None) -> dict[str, str | None]:
    """A full `usage_metadata` struct: the given fields, every other one NULL."""
    return {name: given.get(name) for name in _METADATA}


def identity_metadata(**given: str | None) -> dict[str, str | None]:
    """A full `identity_metadata` struct."""
    return {name: given.get(name) for name in _IDENTITY}


def pricing(price: str, promotional: str | None) -> dict[str, object]:
    """The `pricing` struct: the effective list price is the promotion while there is one."""
    return {
        "default": price,
        "promotional": {"default": promotional},
        "effective_list": {"default": promotional or price},
    }


def price_rows(day: dt.datetime) -> Iterator[Row]:
    """Every list price of every SKU; the current one has a NULL price_end_time."""
    for sku in SKUS:
        yield from _schedule(sku, "USD", sku.usd, day)
        yield from _schedule(sku, "EUR", sku.eur, day)


def _schedule(
    sku: Sku, currency: str, points: tuple[PricePoint, ...], day: dt.datetime
) -> Iterator[Row]:
    starts = [day - dt.timedelta(days=days) for days, _, _ in points]
    for n, (_, price, promotional) in enumerate(points):
        yield {
            "account_id": ACCOUNT_ID,
            "price_start_time": starts[n],
            "price_end_time": starts[n + 1] if n + 1 < len(starts) else None,
            "sku_name": sku.name,
            "cloud": CLOUD,
            "currency_code": currency,
            "usage_unit": sku.unit,
            "pricing": pricing(price, promotional),
        }


@dataclass(frozen=True)
class Source:
    """Something that consumes a SKU, and how much: one row of `gen_usage_sources`."""

    workspace_id: str
    sku: Sku
    activity: float
    mean: float
    tags: Mapping[str, str] | None
    metadata: Mapping[str, str | None]
    identity: Mapping[str, str | None]
    grain: dt.timedelta = HOUR
    since: dt.timedelta | None = None
    integral: bool = False


_ACTIVITY = {"continuous": 1.0, "marathon": 0.4, "long": 0.5, "medium": 0.45, "quick": 0.6}


def _job_sources(jobs: list[Job]) -> Iterator[Source]:
    for job in jobs:
        yield Source(
            workspace_id=job.workspace_id,
            sku=JOBS_SERVERLESS if job.serverless else JOBS,
            activity=_ACTIVITY[job.klass],
            mean=CLASSES[job.klass].dbu_per_hour,
            tags={"team": job.team, "project": job.project or ""} if job.team else None,
            metadata=usage_metadata(
                job_id=job.job_id,
                cluster_id=None if job.serverless else job.cluster_id,
                job_name=job.name,
            ),
            identity=identity_metadata(run_as=job.run_as),
        )


def _warehouse_sources(warehouses: list[Warehouse]) -> Iterator[Source]:
    for warehouse in (w for w in warehouses if not w.deleted):
        serverless = warehouse.kind == "SERVERLESS"
        yield Source(
            workspace_id=warehouse.workspace_id,
            sku=_WAREHOUSE_SKUS[warehouse.kind],
            activity=0.5 if serverless else 0.7,
            mean=8.0 if serverless else 12.0,
            tags={"team": warehouse.team},
            metadata=usage_metadata(warehouse_id=warehouse.warehouse_id, node_type="i3.2xlarge"),
            identity=identity_metadata(owned_by=warehouse.owner),
        )


def _pipeline_sources(pipelines: list[Pipeline]) -> Iterator[Source]:
    for pipeline in pipelines:
        yield Source(
            workspace_id=pipeline.workspace_id,
            sku=DLT_ADVANCED if pipeline.edition == "ADVANCED" else DLT_CORE,
            activity=1.0 if pipeline.continuous else 0.5,
            mean=3.0,
            tags={"team": pipeline.team},
            metadata=usage_metadata(dlt_pipeline_id=pipeline.pipeline_id),
            identity=identity_metadata(run_as=pipeline.run_as),
        )


def _workspace_sources(plan: Plan) -> Iterator[Source]:
    for wi, workspace_id in enumerate(plan.workspaces):
        team = rand.pick(TEAMS, plan.seed, "ap_team", wi)
        project = rand.pick(PROJECTS, plan.seed, "ap_project", wi)
        for n, tags in enumerate(({"team": team, "project": project}, None)):
            cluster = f"0303-{wi:02d}{n:04d}-{rand.hex_id(8, 'all_purpose', wi, n)}"
            metadata = usage_metadata(cluster_id=cluster, node_type="m5d.xlarge")
            yield Source(workspace_id, ALL_PURPOSE, 0.4, 5.0, tags, metadata, identity_metadata())
        gigabytes = rand.between(500, 20000, plan.seed, "storage", wi)
        yield Source(
            workspace_id, STORAGE, 1.0, 24 * gigabytes, None, usage_metadata(),
            identity_metadata(), grain=_DAY,
        )  # fmt: skip
        endpoint = usage_metadata(endpoint_name="databricks-meta-llama-3-3-70b-instruct")
        tokens = rand.between(2e5, 2e6, plan.seed, "tokens", wi)
        yield Source(
            workspace_id, TOKENS, 0.8, tokens, {"project": project}, endpoint,
            identity_metadata(), integral=True,
        )  # fmt: skip
        since = dt.timedelta(days=AI_FUNCTIONS.usd[0][0])
        yield Source(
            workspace_id, AI_FUNCTIONS, 0.3, 0.8, {"team": team}, usage_metadata(),
            identity_metadata(run_as=rand.pick(USERS, plan.seed, "ai", wi)), since=since,
        )  # fmt: skip


def _source_row(plan: Plan, key: int, source: Source) -> Row:
    anchors = plan.anchors
    first = anchors.day - (source.since or dt.timedelta(days=plan.preset.billing_days))
    last = anchors.hour if source.grain == HOUR else anchors.day
    sub_rows = max(1, int(plan.factor))
    return {
        "source_key": key,
        "workspace_id": source.workspace_id,
        "sku_name": source.sku.name,
        "usage_unit": source.sku.unit,
        "product": source.sku.product,
        "usage_type": source.sku.usage_type,
        "features": dict(source.sku.features),
        "grain_us": source.grain // dt.timedelta(microseconds=1),
        "first_us": micros(first),
        "n_periods": (last - first) // source.grain,
        "activity": min(1.0, source.activity * plan.factor / sub_rows),
        "mean_qty": source.mean / sub_rows,
        "integral": source.integral,
        "sub_rows": sub_rows,
        "custom_tags": map_entries(source.tags),
        "usage_metadata": dict(source.metadata),
        "identity_metadata": dict(source.identity),
    }


def generate_billing(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    jobs: list[Job],
    pipelines: list[Pipeline],
    warehouses: list[Warehouse],
) -> None:
    """Fill `billing.list_prices` and the bulk `billing.usage`."""
    insert_rows(con, "databricks_system.billing.list_prices", list(price_rows(plan.anchors.day)))
    sources = [*_job_sources(jobs), *_warehouse_sources(warehouses)]
    sources += [*_pipeline_sources(pipelines), *_workspace_sources(plan)]
    rows = [_source_row(plan, key, source) for key, source in enumerate(sources)]
    load_temp(con, "gen_usage_sources", rows)
    run_script(con, "billing.sql")
