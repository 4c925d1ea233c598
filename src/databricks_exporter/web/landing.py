"""The landing page: version, links, and one row per collector; every value HTML-escaped."""

from __future__ import annotations

import time
from collections.abc import Iterable
from html import escape

from databricks_exporter.settings import format_duration
from databricks_exporter.status import CollectorStatus

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    ".success{color:#070}.failure{color:#a00}"
)
_COLUMNS = (
    "Collector",
    "Enabled",
    "Interval",
    "Last refresh",
    "Result",
    "Last success",
    "Next refresh",
    "Series",
    "Detail",
)


def format_time(seconds: float | None, now: float) -> str:
    """`2026-01-02 15:04:05 UTC (3m ago)`, or `-` when there is no time."""
    if seconds is None:
        return "-"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
    delta = seconds - now
    if abs(delta) < 1:
        return f"{stamp} (now)"
    relative = format_duration(abs(delta))
    return f"{stamp} ({relative} ago)" if delta < 0 else f"{stamp} (in {relative})"


def _result_class(result: str) -> str:
    return "success" if result == "success" else "pending" if result == "pending" else "failure"


def _row(status: CollectorStatus, now: float) -> str:
    cells = (
        status.name,
        "yes" if status.enabled else "no",
        format_duration(status.interval),
        format_time(status.last_attempt, now),
        status.last_result,
        format_time(status.last_success, now),
        format_time(status.next_refresh, now) if status.enabled else "-",
        str(status.series),
        status.detail,
    )
    tds = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
    return f'<tr class="{_result_class(status.last_result)}">{tds}</tr>'


def render_landing(
    version: str, telemetry_path: str, collectors: Iterable[CollectorStatus], now: float
) -> str:
    """The whole page as HTML text."""
    head = "".join(f"<th>{escape(column)}</th>" for column in _COLUMNS)
    rows = "\n".join(_row(status, now) for status in collectors)
    path = escape(telemetry_path)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Databricks Exporter</title><style>{_STYLE}</style></head>
<body>
<h1>Databricks Exporter</h1>
<p>Version {escape(version)}</p>
<ul>
<li><a href="{path}">Metrics</a> ({path})</li>
<li><a href="/-/healthy">Health</a> (/-/healthy)</li>
<li><a href="/-/ready">Readiness</a> (/-/ready)</li>
</ul>
<h2>Collectors</h2>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
