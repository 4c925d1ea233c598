"""Fixed facts of the simulated account: ids, presets, users, SKUs and their price history.

Nothing here depends on the seed: the price list, the workspace ids and the odd label values
are the same in every generated database, so tests can name them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

ACCOUNT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CLOUD = "AWS"

#: Bulk workspaces; a preset uses the first `Preset.workspaces` of them.
BULK_WORKSPACES = (
    "1234567890123456",
    "2345678901234567",
    "3456789012345678",
    "4567890123456789",
    "5678901234567890",
    "6789012345678901",
    "7890123456789012",
    "8901234567890123",
)
#: Hand-built jobs, pipelines, billing and query rows with fixed ids (see `scenarios.py`).
SCENARIO_WORKSPACE = "9000000000000001"
#: Only the hand-built cluster of overlapping statements, so its peak concurrency is known.
OVERLAP_WORKSPACE = "9000000000000002"
DEFAULT_WORKSPACE_ID = BULK_WORKSPACES[0]
#: The simulator's default warehouse: a PRO warehouse of the default workspace.
DEFAULT_WAREHOUSE_ID = "abc123def456"
SCENARIO_WAREHOUSE_ID = "5ce0a1105ce0a110"
OVERLAP_WAREHOUSE_ID = "0e1a90e1a90e1a90"

#: The application id of "an earlier exporter", whose statements carry app=databricks-exporter.
EXPORTER_PRINCIPAL = "6f1c2e9a-5b7d-4c3e-9a1f-0e4901e4901a"
EXPORTER_TAGS: Mapping[str, str] = {"app": "databricks-exporter"}

USERS = (
    "ana.silva@example.com",
    "bo.chen@example.com",
    "chidi.okafor@example.com",
    "dana.levi@example.com",
    "emil.novak@example.com",
    "fatima.zahra@example.com",
    "goran.petrov@example.com",
    "hana.sato@example.com",
)
TEAMS = ("data-eng", "analytics", "ml-platform", "finance")
PROJECTS = ("lakehouse", "churn", "forecast", "reporting", "pricing")
TASK_KEYS = ("ingest", "clean", "transform", "aggregate", "publish")

# Label values that need escaping in the exposition format: quotes, backslashes, unicode and a
# newline each. They appear only in the scenario workspace, on the rows named in SCENARIOS.
ODD_RESULT_STATE = 'WEIRD "state"\\\nünïcødé ✓'
ODD_UPDATE_TYPE = 'REFRESH "odd"\\ ünïcødé ✓\nline 2'
ODD_SKU = 'PREMIUM_"ODD"\\SKU ünïcødé ✓\nLINE_2'
ODD_TAG_VALUE = 'data "eng"\\team ünïcødé ✓\nline 2'
ODD_JOB_NAME = 'nightly "etl"\\ ünïcødé ✓\nsecond line'
ODD_PIPELINE_NAME = 'orders "dlt"\\ ünïcødé ✓\nsecond line'


@dataclass(frozen=True)
class Preset:
    """Volumes of one scale; `size_factor` multiplies the run, statement and usage rates."""

    workspaces: int
    jobs_per_workspace: int
    pipelines_per_workspace: int
    job_history: dt.timedelta
    pipeline_history: dt.timedelta
    query_history: dt.timedelta
    statements_per_hour: float
    run_rate: float
    billing_days: int = 40
    event_days: int = 14


PRESETS: Mapping[str, Preset] = {
    "small": Preset(
        workspaces=3,
        jobs_per_workspace=15,
        pipelines_per_workspace=6,
        job_history=dt.timedelta(hours=72),
        pipeline_history=dt.timedelta(days=8),
        query_history=dt.timedelta(hours=48),
        statements_per_hour=150.0,
        run_rate=1.0,
    ),
    "large": Preset(
        workspaces=8,
        jobs_per_workspace=80,
        pipelines_per_workspace=25,
        job_history=dt.timedelta(days=7),
        pipeline_history=dt.timedelta(days=10),
        query_history=dt.timedelta(days=7),
        statements_per_hour=1800.0,
        run_rate=2.5,
    ),
}

#: (days before today's midnight UTC, list price, promotional price or None).
PricePoint = tuple[int, str, str | None]


@dataclass(frozen=True)
class Sku:
    """A SKU, its billing facets and its price history (USD, plus EUR for some)."""

    name: str
    unit: str
    product: str
    usage_type: str
    features: Mapping[str, object]
    usd: tuple[PricePoint, ...]
    eur: tuple[PricePoint, ...] = field(default=())


_FEATURES = (
    "jobs_tier",
    "sql_tier",
    "dlt_tier",
    "is_serverless",
    "is_photon",
    "serving_type",
    "offering_type",
    "performance_target",
)


def _features(**given: object) -> Mapping[str, object]:
    return {name: given.get(name) for name in _FEATURES}


JOBS = Sku(
    "PREMIUM_JOBS_COMPUTE",
    "DBU",
    "JOBS",
    "COMPUTE_TIME",
    _features(jobs_tier="CLASSIC", is_serverless=False, is_photon=False),
    usd=((400, "0.15", None), (10, "0.20", None)),
    eur=((400, "0.14", None), (50, "0.18", None)),
)
JOBS_SERVERLESS = Sku(
    "PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA",
    "DBU",
    "JOBS",
    "COMPUTE_TIME",
    _features(is_serverless=True, is_photon=True, performance_target="STANDARD"),
    usd=((380, "0.35", None), (60, "0.37", None)),
)
ALL_PURPOSE = Sku(
    "PREMIUM_ALL_PURPOSE_COMPUTE",
    "DBU",
    "ALL_PURPOSE",
    "COMPUTE_TIME",
    _features(is_serverless=False, is_photon=True),
    usd=((500, "0.55", None),),
)
SQL_PRO = Sku(
    "PREMIUM_SQL_PRO_COMPUTE_US_EAST_N_VIRGINIA",
    "DBU",
    "SQL",
    "COMPUTE_TIME",
    _features(sql_tier="PRO", is_serverless=False, is_photon=True),
    usd=((450, "0.55", None), (200, "0.55", "0.50"), (120, "0.55", None)),
)
SQL_CLASSIC = Sku(
    "PREMIUM_SQL_CLASSIC_COMPUTE",
    "DBU",
    "SQL",
    "COMPUTE_TIME",
    _features(sql_tier="CLASSIC", is_serverless=False, is_photon=True),
    usd=((450, "0.22", None),),
)
SQL_SERVERLESS = Sku(
    "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA",
    "DBU",
    "SQL",
    "COMPUTE_TIME",
    _features(sql_tier="PRO", is_serverless=True, is_photon=True),
    usd=((300, "0.70", None), (45, "0.70", "0.63")),
    eur=((300, "0.66", None),),
)
DLT_CORE = Sku(
    "PREMIUM_DLT_CORE_COMPUTE",
    "DBU",
    "DLT",
    "COMPUTE_TIME",
    _features(dlt_tier="CORE", is_serverless=False, is_photon=False),
    usd=((420, "0.20", None),),
)
DLT_ADVANCED = Sku(
    "PREMIUM_DLT_ADVANCED_COMPUTE",
    "DBU",
    "DLT",
    "COMPUTE_TIME",
    _features(dlt_tier="ADVANCED", is_serverless=False, is_photon=True),
    usd=((420, "0.36", None), (80, "0.38", None), (20, "0.40", None)),
)
STORAGE = Sku(
    "PREMIUM_DEFAULT_STORAGE_US_EAST_N_VIRGINIA",
    "GB_HOUR",
    "DEFAULT_STORAGE",
    "STORAGE_SPACE",
    _features(),
    usd=((365, "0.000031", None),),
)
TOKENS = Sku(
    "PREMIUM_FOUNDATION_MODEL_SERVING_US_EAST_N_VIRGINIA",
    "TOKEN",
    "MODEL_SERVING",
    "TOKEN",
    _features(is_serverless=True, serving_type="FOUNDATION_MODEL"),
    usd=((200, "0.0000015", None), (25, "0.0000012", None)),
)
AI_FUNCTIONS = Sku(
    "PREMIUM_AI_FUNCTIONS_US_EAST_N_VIRGINIA",
    "DBU",
    "AI_FUNCTIONS",
    "COMPUTE_TIME",
    _features(is_serverless=True),
    usd=((20, "0.07", None),),
)
NETWORKING = Sku(
    "PREMIUM_SERVERLESS_CONNECTIVITY",
    "DBU",
    "NETWORKING",
    "NETWORK_HOUR",
    _features(is_serverless=True),
    usd=((400, "0.10", None),),
)
ODD = Sku(
    ODD_SKU,
    "DBU",
    "JOBS",
    "COMPUTE_TIME",
    _features(jobs_tier="CLASSIC"),
    usd=((400, "1.00", None),),
)

SKUS = (
    JOBS,
    JOBS_SERVERLESS,
    ALL_PURPOSE,
    SQL_PRO,
    SQL_CLASSIC,
    SQL_SERVERLESS,
    DLT_CORE,
    DLT_ADVANCED,
    STORAGE,
    TOKENS,
    AI_FUNCTIONS,
    NETWORKING,
    ODD,
)
