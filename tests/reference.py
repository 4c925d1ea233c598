"""The expected value of every data metric, computed in plain Python from raw table rows.

This is the independent check of the collectors' SQL: it is written from METRICS.md (plus the
decisions documented in the collectors' SQL and HELP texts) with dicts, sets and sorting, and
reads the tables with a plain SELECT of the columns it needs, so no aggregation happens in SQL.

    tables = fetch_tables(con)                  # {"system.billing.usage": [row dicts], ...}
    expected = expected_metrics(tables, now)    # {metric: {labels: value}}
    expected["databricks_job_runs_total"][labels(workspace_id="ws1")] == 3.0

`labels` are frozensets of (label, value) pairs, NULL label values already mapped to
`unknown`, so a parsed scrape compares directly (`from_samples`). `databricks_up` is the
scheduler's and is not computed here.

With a `Drilldown` (`expected_metrics(..., drilldown=...)`), the drilled-down domains are
computed per entity instead, entities beyond the top K folded into `other` here in Python, and
names taken as the latest from the SCD2 tables; `expected_folded` counts the folded entities.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol, TypeVar

from databricks_exporter.settings import Drilldown, Windows

Row = Mapping[str, Any]
Tables = Mapping[str, list[Row]]
Labels = frozenset[tuple[str, str]]
Series = dict[Labels, float]
Expected = dict[str, Series]

USAGE = "system.billing.usage"
LIST_PRICES = "system.billing.list_prices"
JOB_RUNS = "system.lakeflow.job_run_timeline"
TASK_RUNS = "system.lakeflow.job_task_run_timeline"
PIPELINE_UPDATES = "system.lakeflow.pipeline_update_timeline"
QUERY_HISTORY = "system.query.history"
JOB_NAMES = "system.lakeflow.jobs"
PIPELINE_NAMES = "system.lakeflow.pipelines"
WAREHOUSES = "system.compute.warehouses"
_NAMES = ("name", "change_time", "delete_time")
_TIMES = ("period_start_time", "period_end_time", "result_state")
#: The columns the reference reads, per table (the wide struct columns are left out: fast).
COLUMNS = {
    USAGE: (
        "workspace_id", "sku_name", "cloud", "usage_unit", "usage_date", "usage_start_time",
        "usage_end_time", "usage_quantity", "record_type", "custom_tags",
        "billing_origin_product", "usage_metadata.job_id AS usage_job_id",
    ),
    LIST_PRICES: (
        "sku_name", "cloud", "currency_code", "usage_unit", "price_start_time",
        "price_end_time", "pricing",
    ),
    JOB_RUNS: ("workspace_id", "job_id", "run_id", *_TIMES),
    TASK_RUNS: ("workspace_id", "job_id", "job_run_id", "task_key", "run_id", *_TIMES),
    PIPELINE_UPDATES: (
        "workspace_id", "pipeline_id", "update_id", "update_type", "request_id", *_TIMES,
    ),
    QUERY_HISTORY: (
        "workspace_id", "execution_status", "start_time", "end_time", "total_duration_ms",
        "query_tags", "compute.warehouse_id AS warehouse_id",
    ),
    JOB_NAMES: ("workspace_id", "job_id", *_NAMES),
    PIPELINE_NAMES: ("workspace_id", "pipeline_id", *_NAMES),
    WAREHOUSES: ("workspace_id", "warehouse_id", "warehouse_name AS name", *_NAMES[1:]),
}  # fmt: skip
TABLES = tuple(COLUMNS)

QUANTILES = (("0.5", Fraction(1, 2)), ("0.95", Fraction(95, 100)), ("0.99", Fraction(99, 100)))
EXPORTER_TAG = ("app", "databricks-exporter")
SECOND = dt.timedelta(seconds=1)
MICRO = dt.timedelta(microseconds=1)
T = TypeVar("T")


class _Connection(Protocol):
    def execute(self, query: str) -> Any: ...


def fetch_tables(con: _Connection, catalog: str = "databricks_system") -> dict[str, list[Row]]:
    """Every row of the tables the collectors read, as dicts: a plain SELECT of `COLUMNS`."""
    tables: dict[str, list[Row]] = {}
    for name, columns in COLUMNS.items():
        _, schema, table = name.split(".")
        cursor = con.execute(f"SELECT {', '.join(columns)} FROM {catalog}.{schema}.{table}")
        names = [column.split(" AS ")[-1] for column in columns]
        tables[name] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return tables


def labels(**pairs: object) -> Labels:
    """Series labels as the exposition shows them: NULL becomes `unknown`, values are text."""
    return frozenset((name, "unknown" if v is None else str(v)) for name, v in pairs.items())


def quantile(values: Iterable[float], p: Fraction) -> float:
    """Exact percentile: the smallest value with at least p of the values <= it."""
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def from_samples(samples: Iterable[Any]) -> Expected:
    """Samples (prometheus-client `Sample`s, parsed or built) in the shape of the reference."""
    result: Expected = defaultdict(dict)
    for sample in samples:
        result[sample.name][frozenset(sample.labels.items())] = float(sample.value)
    return dict(result)


def expected_metrics(
    tables: Tables,
    now: dt.datetime,
    windows: Windows | None = None,
    drilldown: Drilldown | None = None,
) -> Expected:
    """Every data metric of every collector, drilled down where `drilldown` says so."""
    windows, drill = windows or Windows(), drilldown or Drilldown()
    domains = (
        (drill.billing_attributed, billing_attributed, billing),
        (drill.jobs_by_job, jobs_by_job, jobs),
        (drill.pipelines_by_pipeline, pipelines_by_pipeline, pipelines),
        (drill.queries_by_warehouse, queries_by_warehouse, queries),
    )
    result: Expected = {}
    for drilled, by_entity, plain in domains:
        result |= by_entity(tables, now, windows, drill) if drilled else plain(tables, now, windows)
    return result


# ---------------------------------------------------------------------------------------------
# shared


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, like the TIMESTAMP columns."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _ago(now: dt.datetime, seconds: float) -> dt.datetime:
    return now - dt.timedelta(seconds=round(seconds))


def _group(items: Iterable[T], key: Callable[[T], Any]) -> dict[Any, list[T]]:
    groups: dict[Any, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def _count(keys: Iterable[Labels]) -> Series:
    counts: Series = defaultdict(float)
    for key in keys:
        counts[key] += 1
    return dict(counts)


def _quantiles(durations: Mapping[Any, list[float]]) -> Series:
    """p50/p95/p99 per workspace of `{workspace_id: [values]}` (workspaces with values)."""
    return {
        labels(workspace_id=workspace, quantile=name): quantile(values, p)
        for workspace, values in durations.items()
        if values
        for name, p in QUANTILES
    }


@dataclass(frozen=True)
class Run:
    """A job run or pipeline update assembled from its slices."""

    workspace_id: str | None
    started: dt.datetime
    ended: dt.datetime
    final_state: str | None
    slices: tuple[Row, ...]

    @property
    def seconds(self) -> float:
        """Duration from the first slice start to the last slice end."""
        return (self.ended - self.started) / SECOND


def _assemble(slices: list[Row]) -> Run:
    terminal = [s for s in slices if s["result_state"] is not None]
    latest = max(terminal, key=lambda s: (s["period_end_time"], s["result_state"]), default=None)
    return Run(
        workspace_id=slices[0]["workspace_id"],
        started=min(s["period_start_time"] for s in slices),
        ended=max(s["period_end_time"] for s in slices),
        final_state=None if latest is None else latest["result_state"],
        slices=tuple(slices),
    )


def _runs(rows: Iterable[Row], since: dt.datetime, now: dt.datetime, key: str) -> list[Run]:
    """Runs (or updates) keyed by (workspace_id, parent, `key`) from slices ending in range."""
    parent = "job_id" if key == "run_id" else "pipeline_id"
    kept = [r for r in rows if r["period_end_time"] and since <= r["period_end_time"] <= now]
    grouped = _group(kept, lambda r: (r["workspace_id"], r[parent], r[key]))
    return [_assemble(slices) for slices in grouped.values()]


def _run_metrics(runs: list[Run], prefix: str) -> tuple[Expected, list[Run]]:
    """Counts, status and duration quantiles of runs active in the window; finished ones."""
    finished = [r for r in runs if r.final_state is not None]
    durations: dict[Any, list[float]] = defaultdict(list)
    for run in finished:
        durations[run.workspace_id].append(run.seconds)
    return {
        f"{prefix}_runs_total": _count(labels(workspace_id=r.workspace_id) for r in runs),
        f"{prefix}_run_status": _count(
            labels(workspace_id=r.workspace_id, status=r.final_state) for r in finished
        ),
        f"{prefix}_run_duration_seconds": _quantiles(durations),
    }, finished


# ---------------------------------------------------------------------------------------------
# billing


def _usage_in_dates(tables: Tables, now: dt.datetime, windows: Windows) -> list[Row]:
    first = _ago(now, windows.billing_lookback).date()
    return [u for u in tables[USAGE] if u["usage_date"] and first <= u["usage_date"] <= now.date()]


def _list_price(price: Row) -> Decimal | None:
    effective = (price["pricing"] or {}).get("effective_list") or {}
    value: Decimal | None = effective.get("default")
    return value


def _price_at(usage: Row, prices: list[Row]) -> Decimal | None:
    """The USD list price in effect when the usage started (the latest to take effect)."""
    start = usage["usage_start_time"]
    candidates = [
        (p["price_start_time"], _list_price(p))
        for p in prices
        if p["currency_code"] == "USD"
        and usage["sku_name"] is not None
        and (p["sku_name"], p["cloud"], p["usage_unit"])
        == (usage["sku_name"], usage["cloud"], usage["usage_unit"])
        and usage["cloud"] is not None
        and usage["usage_unit"] is not None
        and start is not None
        and p["price_start_time"] is not None
        and p["price_start_time"] <= start
        and (p["price_end_time"] is None or start < p["price_end_time"])
        and _list_price(p) is not None
    ]
    return max(candidates, default=(None, None))[1]


def _price_changes(prices: list[Row], since: dt.datetime, now: dt.datetime) -> Series:
    first_start: dict[tuple[Any, ...], dt.datetime] = {}
    for p in prices:
        key = (p["sku_name"], p["cloud"], p["currency_code"], p["usage_unit"])
        if p["price_start_time"] is not None:
            first_start[key] = min(
                first_start.get(key, p["price_start_time"]), p["price_start_time"]
            )
    changes = [
        p
        for p in prices
        if p["price_start_time"] is not None
        and since <= p["price_start_time"] <= now
        and p["price_start_time"]
        > first_start[(p["sku_name"], p["cloud"], p["currency_code"], p["usage_unit"])]
    ]
    return _count(labels(sku_name=p["sku_name"]) for p in changes)


def billing(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """dbus per day, cost at the price in effect at usage start, price change events."""
    now = _utc(now)
    usage = _usage_in_dates(tables, now, windows)
    dbus: dict[Labels, Decimal] = defaultdict(Decimal)
    cost: Series = defaultdict(float)
    daily: Series = defaultdict(float)
    for u in usage:
        key = labels(
            workspace_id=u["workspace_id"], sku_name=u["sku_name"], usage_date=u["usage_date"]
        )
        quantity = u["usage_quantity"] or Decimal(0)  # NULL counts as no usage
        if u["usage_unit"] == "DBU":
            dbus[key] += quantity
        price = _price_at(u, tables[LIST_PRICES])
        if price is not None:
            cost[key] += float(quantity) * float(price)
            days_ago = (now.date() - u["usage_date"]).days
            if 1 <= days_ago <= 7:  # complete UTC days only
                daily[labels(workspace_id=u["workspace_id"], days_ago=days_ago)] += float(
                    quantity
                ) * float(price)
    changes_since = _ago(now, windows.price_change_lookback)
    return {
        "databricks_billing_dbus_total": {k: float(v) for k, v in dbus.items()},
        "databricks_billing_cost_estimate_usd": dict(cost),
        "databricks_billing_daily_cost_usd": dict(daily),
        "databricks_billing_latest_usage_timestamp_seconds": _latest_usage(usage),
        "databricks_price_change_events": _price_changes(tables[LIST_PRICES], changes_since, now),
    }


def _latest_usage(usage: list[Row]) -> Series:
    """Per workspace, the end of its newest usage row, in whole epoch seconds."""
    latest: dict[Labels, dt.datetime] = {}
    for u in usage:
        end, key = u["usage_end_time"], labels(workspace_id=u["workspace_id"])
        if end is not None:
            latest[key] = max(latest.get(key, end), end)
    return {k: float(math.floor(v.replace(tzinfo=dt.UTC).timestamp())) for k, v in latest.items()}


# ---------------------------------------------------------------------------------------------
# jobs


def _task_retries(rows: list[Row], since: dt.datetime, now: dt.datetime) -> Series:
    active = [r for r in rows if r["period_end_time"] and since <= r["period_end_time"] <= now]
    retries: Series = {labels(workspace_id=r["workspace_id"]): 0.0 for r in active}
    groups = _group(active, lambda r: (r["workspace_id"], r["job_run_id"], r["task_key"]))
    for (workspace, job_run, task_key), slices in groups.items():
        if job_run is None or task_key is None:
            continue
        task_runs = {s["run_id"] for s in slices if s["run_id"] is not None}
        retries[labels(workspace_id=workspace)] += max(len(task_runs) - 1, 0)
    return retries


def jobs(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Runs assembled from slices: counts, states, durations, SLA misses; task retries."""
    now = _utc(now)
    window_start = _ago(now, windows.jobs_lookback)
    history_start = _ago(now, windows.jobs_lookback + windows.run_history)
    runs = _runs(tables[JOB_RUNS], history_start, now, "run_id")
    active = [r for r in runs if r.ended >= window_start]
    result, finished = _run_metrics(active, "databricks_job")
    misses = {labels(workspace_id=r.workspace_id): 0.0 for r in active}
    for run in finished:
        if run.seconds > windows.sla_threshold:
            misses[labels(workspace_id=run.workspace_id)] += 1
    result["databricks_job_sla_miss_total"] = misses
    result["databricks_task_retries_total"] = _task_retries(tables[TASK_RUNS], window_start, now)
    return result


# ---------------------------------------------------------------------------------------------
# pipelines


def _latest(slices: Iterable[Row], column: str) -> Any:
    values = [s[column] for s in slices if s[column] is not None]
    return max(values, default=None)


def _restarts(updates: list[Run], active: list[Run]) -> Series:
    """Per workspace with active updates: updates beyond the first of each active request."""
    restarts: Series = {labels(workspace_id=u.workspace_id): 0.0 for u in active}
    active_ids = {id(u) for u in active}
    by_request = _group(
        [u for u in updates if _latest(u.slices, "request_id") is not None],
        lambda u: (u.workspace_id, u.slices[0]["pipeline_id"], _latest(u.slices, "request_id")),
    )
    for (workspace, _, _), members in by_request.items():
        if any(id(u) in active_ids for u in members):
            restarts[labels(workspace_id=workspace)] += len(members) - 1
    return restarts


def _freshness(updates: list[Run], now: dt.datetime, since: dt.datetime) -> Series:
    latest: dict[tuple[Any, ...], dt.datetime] = {}
    for u in updates:
        if u.final_state == "COMPLETED" and u.ended >= since:
            key = (u.workspace_id, u.slices[0]["pipeline_id"], _latest(u.slices, "update_type"))
            latest[key] = max(latest.get(key, u.ended), u.ended)
    lags: dict[Labels, list[int]] = defaultdict(list)
    for (workspace, _, update_type), ended in latest.items():
        lags[labels(workspace_id=workspace, stage=update_type)].append((now - ended) // MICRO)
    # The mean of exact microseconds, in seconds.
    return {key: float(sum(values)) / len(values) / 1e6 for key, values in lags.items()}


def pipelines(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Updates assembled from slices: counts, states, durations, restarts, freshness."""
    now = _utc(now)
    window_start = _ago(now, windows.pipelines_lookback)
    scanned = max(
        windows.pipelines_lookback + windows.run_history, windows.pipelines_freshness_horizon
    )
    updates = _runs(tables[PIPELINE_UPDATES], _ago(now, scanned), now, "update_id")
    active = [u for u in updates if u.ended >= window_start]
    result, _ = _run_metrics(active, "databricks_pipeline")
    result["databricks_pipeline_retry_events_total"] = _restarts(updates, active)
    horizon = _ago(now, windows.pipelines_freshness_horizon)
    result["databricks_pipeline_freshness_lag_seconds"] = _freshness(updates, now, horizon)
    return result


# ---------------------------------------------------------------------------------------------
# queries


def _is_exporters(statement: Row) -> bool:
    tags = statement["query_tags"] or {}
    return bool(tags.get(EXPORTER_TAG[0]) == EXPORTER_TAG[1])


def peak_concurrency(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> int:
    """Most half-open intervals [start, end) containing one instant (0 if all are empty).

    The instants worth checking are the starts of non-empty intervals; at instant t the
    intervals containing it are those started at or before t minus those ended at or before t.
    """
    spans = [(start, end) for start, end in intervals if end > start]
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    return max(
        (bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in starts),
        default=0,
    )


def queries(tables: Tables, now: dt.datetime, windows: Windows) -> Expected:
    """Statements started in the window (not the exporter's): counts, errors, durations, peak."""
    now = _utc(now)
    since = _ago(now, windows.queries_lookback)
    statements = [
        q
        for q in tables[QUERY_HISTORY]
        if q["start_time"] and since <= q["start_time"] <= now and not _is_exporters(q)
    ]
    by_workspace = _group(statements, lambda q: (q["workspace_id"],))
    durations = {
        workspace: [
            q["total_duration_ms"] / 1000 for q in rows if q["total_duration_ms"] is not None
        ]
        for (workspace,), rows in by_workspace.items()
    }
    return {
        "databricks_queries_total": {
            labels(workspace_id=w): float(len(rows)) for (w,), rows in by_workspace.items()
        },
        "databricks_query_errors_total": {
            labels(workspace_id=w): float(sum(q["execution_status"] == "FAILED" for q in rows))
            for (w,), rows in by_workspace.items()
        },
        "databricks_query_duration_seconds": _quantiles(durations),
        "databricks_queries_running": {
            labels(workspace_id=w): float(
                peak_concurrency((q["start_time"], q["end_time"] or now) for q in rows)
            )
            for (w,), rows in by_workspace.items()
        },
    }


# ---------------------------------------------------------------------------------------------
# drill-down: names and the fold into `other`

OTHER = "other"
#: Entities deleted longer ago than the longest window plus this slack are not named.
NAME_HORIZON_SLACK = 2 * 86400
Key = tuple[Any, Any]


def name_horizon(windows: Windows) -> float:
    """How long after its deletion an entity is still named: the longest window + 2 days."""
    return NAME_HORIZON_SLACK + max(
        windows.billing_lookback,
        windows.jobs_lookback + windows.run_history,
        windows.pipelines_lookback + windows.run_history,
        windows.pipelines_freshness_horizon,
        windows.queries_lookback,
    )


def latest_names(
    rows: Iterable[Row], id_column: str, now: dt.datetime, windows: Windows
) -> dict[tuple[str, str], str]:
    """{(workspace_id, id): name}: per entity the name of its latest row with a non-empty
    name (ties: the greatest name); entities deleted before the horizon are left out."""
    since = _ago(_utc(now), name_horizon(windows))
    found: dict[tuple[str, str], str] = {}
    entities = _group(rows, lambda r: (r["workspace_id"], r[id_column]))
    for (workspace, ident), history in entities.items():
        deleted = [r["delete_time"] for r in history if r["delete_time"] is not None]
        named = [r for r in history if r["name"]]
        if ident is None or not named or (deleted and max(deleted) < since):
            continue
        latest = max(
            named, key=lambda r: (r["change_time"] is not None, r["change_time"], r["name"])
        )
        found[(_text(workspace), ident)] = latest["name"]
    return found


def _text(value: object) -> str:
    return "unknown" if value is None else str(value)


def fold(activity: Mapping[Key, Any], top_k: int) -> dict[Key, Any]:
    """{(workspace, entity): label}: per workspace the `top_k` most active entities keep their
    own value (ties: the smaller value, None last), the others become `other`."""
    result: dict[Key, Any] = {}
    for _, items in _group(activity.items(), lambda item: (item[0][0],)).items():
        ordered = sorted(items, key=lambda item: (-item[1], item[0][1] is None, item[0][1] or ""))
        for rank, (key, _) in enumerate(ordered, start=1):
            result[key] = key[1] if rank <= top_k else OTHER
    return result


def folded_counts(activity: Mapping[Key, Any], top_k: int) -> dict[str, int]:
    """{workspace: entities beyond the top K} over the workspaces with entities."""
    counts: dict[str, int] = defaultdict(int)
    for (workspace, _), label in fold(activity, top_k).items():
        counts[_text(workspace)] += label == OTHER
    return dict(counts)


@dataclass(frozen=True)
class Entities:
    """How one kind of entity is labelled: `<kind>_id` and `<kind>_name`."""

    kind: str
    names: Mapping[tuple[str, str], str]
    labels_of: Mapping[Key, Any]

    def labels(self, workspace: Any, entity: Any, **more: object) -> Labels:
        """The series labels of an entity (folded or not) of a workspace."""
        label = self.labels_of[(workspace, entity)]
        name = (
            label
            if label in (None, OTHER)
            else self.names.get((_text(workspace), label), f"{self.kind}-{label}")
        )
        return labels(
            workspace_id=workspace, **{f"{self.kind}_id": label, f"{self.kind}_name": name}, **more
        )


# ---------------------------------------------------------------------------------------------
# drill-down: jobs, pipelines, queries


def _run_series(runs: list[Run], key: Callable[..., Labels], prefix: str) -> Expected:
    """Counts, final states and duration quantiles per entity label; a folded group's
    quantiles over all its runs."""
    finished = [r for r in runs if r.final_state is not None]
    durations: dict[Labels, list[float]] = defaultdict(list)
    for run in finished:
        durations[key(run)].append(run.seconds)
    return {
        f"{prefix}_runs_total": _count(key(r) for r in runs),
        f"{prefix}_run_status": _count(key(r, status=r.final_state) for r in finished),
        f"{prefix}_run_duration_seconds": {
            base | {("quantile", name)}: quantile(values, p)
            for base, values in durations.items()
            for name, p in QUANTILES
        },
    }


def _parent(run: Run) -> Any:
    """The job_id of a run, the pipeline_id of an update."""
    first = run.slices[0]
    return first["job_id"] if "job_id" in first else first["pipeline_id"]


@dataclass(frozen=True)
class TaskGroup:
    """Task runs of one (workspace, job_run_id, task_key) active in the window."""

    workspace_id: Any
    job_id: Any
    task_key: Any
    retries: int


def _task_groups(rows: list[Row], since: dt.datetime, now: dt.datetime) -> list[TaskGroup]:
    active = [r for r in rows if r["period_end_time"] and since <= r["period_end_time"] <= now]
    found = []
    groups = _group(active, lambda r: (r["workspace_id"], r["job_run_id"], r["task_key"]))
    for (workspace, job_run, task_key), slices in groups.items():
        job = max((s["job_id"] for s in slices if s["job_id"] is not None), default=None)
        task_runs = {s["run_id"] for s in slices if s["run_id"] is not None}
        retries = 0 if job_run is None or task_key is None else max(len(task_runs) - 1, 0)
        found.append(TaskGroup(workspace, job, task_key, retries))
    return found


def _job_window(tables: Tables, now: dt.datetime, w: Windows) -> tuple[list[Run], list[TaskGroup]]:
    """Runs and task groups active in the jobs window."""
    window_start = _ago(now, w.jobs_lookback)
    runs = _runs(tables[JOB_RUNS], _ago(now, w.jobs_lookback + w.run_history), now, "run_id")
    active = [r for r in runs if r.ended >= window_start]
    return active, _task_groups(tables[TASK_RUNS], window_start, now)


def job_activity(tables: Tables, now: dt.datetime, windows: Windows) -> dict[Key, int]:
    """{(workspace, job): runs active in the window}, 0 for jobs seen only in task runs."""
    active, tasks = _job_window(tables, _utc(now), windows)
    activity = {(t.workspace_id, t.job_id): 0 for t in tasks}
    for (workspace, job), runs in _group(active, lambda r: (r.workspace_id, _parent(r))).items():
        activity[(workspace, job)] = len(runs)
    return activity


def jobs_by_job(tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown) -> Expected:
    """The job metrics per job: the top K jobs per workspace by active runs, the rest `other`."""
    now = _utc(now)
    active, tasks = _job_window(tables, now, windows)
    jobs_ = Entities(
        "job",
        latest_names(tables[JOB_NAMES], "job_id", now, windows),
        fold(job_activity(tables, now, windows), drill.top_k),
    )

    def key(run: Run, **more: object) -> Labels:
        return jobs_.labels(run.workspace_id, _parent(run), **more)

    result = _run_series(active, key, "databricks_job")
    misses: Series = {key(r): 0.0 for r in active}
    for run in active:
        if run.final_state is not None and run.seconds > windows.sla_threshold:
            misses[key(run)] += 1
    result["databricks_job_sla_miss_total"] = misses
    retries: Series = defaultdict(float)
    for t in tasks:
        folded = jobs_.labels_of[(t.workspace_id, t.job_id)] == OTHER
        task = {"task_key": OTHER if folded else t.task_key} if drill.jobs_by_task else {}
        retries[jobs_.labels(t.workspace_id, t.job_id, **task)] += t.retries
    result["databricks_task_retries_total"] = dict(retries)
    return result


def _pipeline_window(
    tables: Tables, now: dt.datetime, w: Windows
) -> tuple[list[Run], list[Run], dict[tuple[Any, Any, Any], dt.datetime]]:
    """Updates scanned, updates active in the window, latest completions within the horizon."""
    scanned = max(w.pipelines_lookback + w.run_history, w.pipelines_freshness_horizon)
    updates = _runs(tables[PIPELINE_UPDATES], _ago(now, scanned), now, "update_id")
    active = [u for u in updates if u.ended >= _ago(now, w.pipelines_lookback)]
    completed: dict[tuple[Any, Any, Any], dt.datetime] = {}
    for u in updates:
        if u.final_state == "COMPLETED" and u.ended >= _ago(now, w.pipelines_freshness_horizon):
            key = (u.workspace_id, _parent(u), _latest(u.slices, "update_type"))
            completed[key] = max(completed.get(key, u.ended), u.ended)
    return updates, active, completed


def pipeline_activity(tables: Tables, now: dt.datetime, windows: Windows) -> dict[Key, int]:
    """{(workspace, pipeline): updates active in the window}, 0 for one seen only through a
    completion within the freshness horizon (a restarted request always has an active one)."""
    _, active, completed = _pipeline_window(tables, _utc(now), windows)
    activity = {(workspace, pipeline): 0 for workspace, pipeline, _ in completed}
    for key, updates in _group(active, lambda u: (u.workspace_id, _parent(u))).items():
        activity[key] = len(updates)
    return activity


def pipelines_by_pipeline(
    tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown
) -> Expected:
    """The pipeline metrics per pipeline: top K per workspace by active updates, rest `other`."""
    now = _utc(now)
    updates, active, completed = _pipeline_window(tables, now, windows)
    pipes = Entities(
        "pipeline",
        latest_names(tables[PIPELINE_NAMES], "pipeline_id", now, windows),
        fold(pipeline_activity(tables, now, windows), drill.top_k),
    )

    def key(update: Run, **more: object) -> Labels:
        return pipes.labels(update.workspace_id, _parent(update), **more)

    result = _run_series(active, key, "databricks_pipeline")
    restarts: Series = {key(u): 0.0 for u in active}
    requests = _group(
        [u for u in updates if _latest(u.slices, "request_id") is not None],
        lambda u: (u.workspace_id, _parent(u), _latest(u.slices, "request_id")),
    )
    active_ids = {id(u) for u in active}
    for members in requests.values():
        if any(id(u) in active_ids for u in members):
            restarts[key(members[0])] += len(members) - 1
    result["databricks_pipeline_retry_events_total"] = restarts
    lags: dict[Labels, list[int]] = defaultdict(list)
    for (workspace, pipeline, stage), ended in completed.items():
        lags[pipes.labels(workspace, pipeline, stage=stage)].append((now - ended) // MICRO)
    result["databricks_pipeline_freshness_lag_seconds"] = {
        k: float(sum(v)) / len(v) / 1e6 for k, v in lags.items()
    }
    return result


def _window_statements(tables: Tables, now: dt.datetime, windows: Windows) -> list[Row]:
    since = _ago(now, windows.queries_lookback)
    return [
        q
        for q in tables[QUERY_HISTORY]
        if q["start_time"] and since <= q["start_time"] <= now and not _is_exporters(q)
    ]


def warehouse_activity(tables: Tables, now: dt.datetime, windows: Windows) -> dict[Key, int]:
    """{(workspace, warehouse): statements started in the window}."""
    statements = _window_statements(tables, _utc(now), windows)
    groups = _group(statements, lambda q: (q["workspace_id"], q["warehouse_id"]))
    return {key: len(rows) for key, rows in groups.items()}


def queries_by_warehouse(
    tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown
) -> Expected:
    """The query metrics per warehouse: top K per workspace by statements, the rest `other`."""
    now = _utc(now)
    houses = Entities(
        "warehouse",
        latest_names(tables[WAREHOUSES], "warehouse_id", now, windows),
        fold(warehouse_activity(tables, now, windows), drill.top_k),
    )
    statements = _window_statements(tables, now, windows)
    groups = _group(statements, lambda q: houses.labels(q["workspace_id"], q["warehouse_id"]))
    result: dict[str, Series] = defaultdict(dict)
    for key, rows in groups.items():
        durations = [
            q["total_duration_ms"] / 1000 for q in rows if q["total_duration_ms"] is not None
        ]
        result["databricks_queries_total"][key] = float(len(rows))
        failed = sum(q["execution_status"] == "FAILED" for q in rows)
        result["databricks_query_errors_total"][key] = float(failed)
        intervals = ((q["start_time"], q["end_time"] or now) for q in rows)
        result["databricks_queries_running"][key] = float(peak_concurrency(intervals))
        for name, p in QUANTILES if durations else ():
            result["databricks_query_duration_seconds"][key | {("quantile", name)}] = quantile(
                durations, p
            )
    metrics = ("queries_total", "query_errors_total", "query_duration_seconds", "queries_running")
    return {f"databricks_{m}": dict(result[f"databricks_{m}"]) for m in metrics}


# ---------------------------------------------------------------------------------------------
# drill-down: cost attribution

_ATTO = Decimal(1).scaleb(-18)
_HOUR = ("workspace_id", "sku_name", "cloud", "usage_unit", "usage_date", "usage_start_time")


def pricer(prices: list[Row]) -> Callable[[Row], Decimal | None]:
    """`_price_at` remembered per SKU, cloud, unit and start (the only columns it reads)."""
    memo: dict[tuple[Any, ...], Decimal | None] = {}

    def price(usage: Row) -> Decimal | None:
        key = tuple(usage[c] for c in ("sku_name", "cloud", "usage_unit", "usage_start_time"))
        if key not in memo:
            memo[key] = _price_at(usage, prices)
        return memo[key]

    return price


def priced_hours(
    usage: list[Row], prices: list[Row], by: Callable[[Row], Any]
) -> dict[Key, Decimal]:
    """{(workspace, by(row)): cost}: each usage hour of each group priced as the SQL does it
    (quantities summed exactly, priced in binary floating point, held at 18 decimals)."""
    costs: dict[Key, Decimal] = defaultdict(Decimal)
    price_at = pricer(prices)
    for hour, rows in _group(usage, lambda u: (*(u[c] for c in _HOUR), by(u))).items():
        price = price_at(rows[0])
        if price is not None:
            quantity = sum((u["usage_quantity"] or Decimal(0) for u in rows), Decimal(0))
            costs[(hour[0], hour[-1])] += Decimal(float(quantity) * float(price)).quantize(_ATTO)
    return dict(costs)


def _tags(row: Row, drill: Drilldown) -> tuple[str, ...]:
    tags = row["custom_tags"] or {}
    return tuple(tags.get(tag.key) or "unknown" for tag in drill.billing_tags)


def tag_activity(usage: list[Row], prices: list[Row], drill: Drilldown) -> dict[Key, Decimal]:
    """{(workspace, tag values): cost}, 0 for combinations none of whose usage is priced."""
    activity = {(u["workspace_id"], _tags(u, drill)): Decimal(0) for u in usage}
    return activity | priced_hours(usage, prices, lambda u: _tags(u, drill))


def job_cost_activity(usage: list[Row], prices: list[Row]) -> dict[Key, Decimal]:
    """{(workspace, job): cost} of the usage with a job id that matched a price."""
    jobs_usage = [u for u in usage if u["usage_job_id"] is not None]
    return priced_hours(jobs_usage, prices, lambda u: u["usage_job_id"])


def billing_attributed(
    tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown
) -> Expected:
    """The billing metrics with product and tag labels (tag value combinations beyond the top
    K per workspace by cost as `other`), and the cost per job."""
    now = _utc(now)
    result = billing(tables, now, windows)
    usage, prices = _usage_in_dates(tables, now, windows), tables[LIST_PRICES]
    tag_labels = fold(tag_activity(usage, prices, drill), drill.top_k)
    price_at = pricer(prices)
    dbus: dict[Labels, Decimal] = defaultdict(Decimal)
    cost: Series = defaultdict(float)
    for u in usage:
        key = _attributed_labels(u, drill, tag_labels[(u["workspace_id"], _tags(u, drill))])
        quantity = u["usage_quantity"] or Decimal(0)
        if u["usage_unit"] == "DBU":
            dbus[key] += quantity
        price = price_at(u)
        if price is not None:
            cost[key] += float(quantity) * float(price)
    result["databricks_billing_dbus_total"] = {k: float(v) for k, v in dbus.items()}
    result["databricks_billing_cost_estimate_usd"] = dict(cost)
    if drill.billing_by_job:
        result["databricks_billing_job_cost_usd"] = _job_costs(tables, now, windows, drill)
    return result


def _attributed_labels(usage: Row, drill: Drilldown, tag_values: Any) -> Labels:
    pairs = {n: usage[n] for n in ("workspace_id", "sku_name", "usage_date")}
    if drill.billing_by_product:
        pairs["billing_origin_product"] = usage["billing_origin_product"] or "unknown"
    for n, tag in enumerate(drill.billing_tags):
        pairs[tag.label] = OTHER if tag_values == OTHER else tag_values[n]
    return labels(**pairs)


def _job_costs(tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown) -> Series:
    totals = job_cost_activity(_usage_in_dates(tables, now, windows), tables[LIST_PRICES])
    jobs_ = Entities(
        "job", latest_names(tables[JOB_NAMES], "job_id", now, windows), fold(totals, drill.top_k)
    )
    costs: dict[Labels, Decimal] = defaultdict(Decimal)
    for (workspace, job), total in totals.items():
        costs[jobs_.labels(workspace, job)] += total
    return {key: float(total) for key, total in costs.items()}


def expected_folded(
    tables: Tables, now: dt.datetime, windows: Windows, drill: Drilldown
) -> dict[tuple[str, str, str], int]:
    """{(collector, workspace, label): entities folded} of every drill-down that is on."""
    now, k = _utc(now), drill.top_k
    usage, prices = _usage_in_dates(tables, now, windows), tables[LIST_PRICES]
    sources: list[tuple[bool, str, str, Mapping[Key, Any]]] = [
        (drill.jobs_by_job, "jobs", "job_id", job_activity(tables, now, windows)),
        (
            drill.pipelines_by_pipeline,
            "pipelines",
            "pipeline_id",
            pipeline_activity(tables, now, windows),
        ),
        (
            drill.queries_by_warehouse,
            "queries",
            "warehouse_id",
            warehouse_activity(tables, now, windows),
        ),
        (bool(drill.billing_tags), "billing", "custom_tags", tag_activity(usage, prices, drill)),
        (drill.billing_by_job, "billing", "job_id", job_cost_activity(usage, prices)),
    ]
    return {
        (collector, workspace, label): count
        for on, collector, label, activity in sources
        if on
        for workspace, count in folded_counts(activity, k).items()
    }
