"""The Markdown a run appends to bench/RESULTS.md: figures, ratios and the targets' verdicts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bench.refresh import RefreshReport, growth_bound
from bench.scrape import SizeResult
from bench.startup import StartupReport

P99_TARGET_MS = 10.0
P99_TARGET_SERIES = 10_000
P99_TARGET_CONNECTIONS = 64
NGINX_RATIO_TARGET = 0.25


def _n(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return _n(value, 2 if value < 10 else 1)


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 (nothing completed) or NaN."""
    if not denominator or math.isnan(denominator):
        return float("nan")
    return numerator / denominator


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def header(title: str, machine: Mapping[str, str], settings: str) -> list[str]:
    """The run's heading: when, where, with what."""
    versions = ", ".join(f"{k} {v}" for k, v in machine.items() if k not in ("machine", "commit"))
    return [
        f"## {title}",
        "",
        f"* Machine: {machine['machine']}",
        f"* Versions: {versions}",
        f"* Commit: {machine['commit']}",
        f"* Settings: {settings}",
        "",
    ]


def scrape_section(results: Sequence[SizeResult], tool: str, repeats: int) -> list[str]:
    """Tables per size, then the two scrape targets."""
    lines = [
        "### Scrape path",
        "",
        f"Closed-loop load with {tool} (1 thread), medians of {repeats} runs for the exporter "
        "and nginx (alternating), 1 run for prometheus-client. CPU is the server's user+system "
        "time per request. Ratios are exporter req/s over the other server's, same run. "
        "prometheus-client at 0 req/s: not one scrape completed within its run.",
        "",
    ]
    for result in results:
        lines += _scrape_table(result)
    lines += _scrape_targets(results)
    return lines


def _scrape_table(result: SizeResult) -> list[str]:
    lines = [
        f"**{result.series:,} series** (prometheus-client: {result.baseline_series:,} - no "
        f"self-metrics): body {result.body_bytes:,} bytes, gzipped {result.gzip_bytes:,} bytes.",
        "",
        "| encoding | conns | exporter req/s | p50 ms | p99 ms | CPU us/req "
        "| nginx req/s | p50 ms | p99 ms | CPU us/req "
        "| prom-client req/s | p50 ms | p99 ms | vs nginx | vs prom-client |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    keys = sorted({(g, c) for (_, g, c) in result.cells}, key=lambda k: (k[0], k[1]))
    for gzipped, connections in keys:
        exp = result.cell("exporter", gzipped, connections)
        ngx = result.cell("nginx", gzipped, connections)
        base = result.cell("prometheus-client", gzipped, connections)
        lines.append(
            f"| {'gzip' if gzipped else 'identity'} | {connections} "
            f"| {_n(exp.rps)} | {_ms(exp.p50)} | {_ms(exp.p99)} | {_n(exp.cpu_us)} "
            f"| {_n(ngx.rps)} | {_ms(ngx.p50)} | {_ms(ngx.p99)} | {_n(ngx.cpu_us)} "
            f"| {_n(base.rps, 1)} | {_ms(base.p50)} | {_ms(base.p99)} "
            f"| {_n(_ratio(exp.rps, ngx.rps), 2)} | {_n(_ratio(exp.rps, base.rps))}x |"
        )
    errors = {name: sum(c.errors for (n, _, _), c in result.cells.items() if n == name)
              for name in ("exporter", "nginx", "prometheus-client")}  # fmt: skip
    lines += ["", "Errors (socket errors, timeouts, non-2xx): "
              + ", ".join(f"{k} {v}" for k, v in errors.items()), ""]  # fmt: skip
    lines += _refreshing(result)
    memory = "; ".join(
        f"{name}: peak {kib['VmHWM'] / 1024:,.0f} MiB" for name, kib in result.memory_kib.items()
    )
    return [*lines, f"Process memory (VmHWM): {memory}.", ""]


def _refreshing(result: SizeResult) -> list[str]:
    cells = result.refreshing
    if "still" not in cells or "refreshing" not in cells:
        return []
    still, busy = cells["still"], cells["refreshing"]
    took = ""
    if result.refresh_seconds is not None:
        took = f"; the billing collector's refresh took {result.refresh_seconds:.2f} s"
    return [
        f"While every collector refreshes back to back (exporter only, gzip, "
        f"{result.refreshing_connections} connections{took}): idle {_n(still.rps)} req/s, "
        f"p50 {_ms(still.p50)} ms, p99 {_ms(still.p99)} ms; refreshing {_n(busy.rps)} req/s, "
        f"p50 {_ms(busy.p50)} ms, p99 {_ms(busy.p99)} ms.",
        "",
    ]


def _scrape_targets(results: Sequence[SizeResult]) -> list[str]:
    lines = ["Targets:", ""]
    small = min(results, key=lambda r: abs(r.target - P99_TARGET_SERIES))
    for gzipped in (True, False):
        exp = small.cell("exporter", gzipped, P99_TARGET_CONNECTIONS)
        ngx = small.cell("nginx", gzipped, P99_TARGET_CONNECTIONS)
        if not exp.runs:
            continue
        lines.append(
            f"* p99 < {P99_TARGET_MS:g} ms at {P99_TARGET_CONNECTIONS} connections, "
            f"{small.series:,} series, {'gzip' if gzipped else 'identity'}: exporter "
            f"{_ms(exp.p99)} ms, {_verdict(exp.p99 < P99_TARGET_MS)} (nginx {_ms(ngx.p99)} ms)"
        )
    ratios = [
        (_ratio(r.cell("exporter", g, c).rps, cell.rps), r.series, g, c)
        for r in results
        for (name, g, c), cell in r.cells.items()
        if name == "nginx" and cell.runs and cell.rps > 0
    ]
    if ratios:
        worst = min(ratios)
        lines.append(
            f"* >= {NGINX_RATIO_TARGET} of nginx's throughput: lowest ratio {worst[0]:.2f} "
            f"({worst[1]:,} series, {'gzip' if worst[2] else 'identity'}, {worst[3]} "
            f"connections), {_verdict(worst[0] >= NGINX_RATIO_TARGET)}"
        )
    return [*lines, ""]


def refresh_section(report: RefreshReport) -> list[str]:
    """Per collector and size, the growth check, statements per hour."""
    lines = [
        "### Refresh path",
        "",
        f"{report.scale} preset, clock frozen; medians over the repetitions. Engine = DuckDB "
        "seconds for the collector's tag in `/admin/stats`; wall = the warehouse client's "
        "execute (includes polling); build = rows to rendered bytes in the exporter.",
        "",
        "| collector | size | table rows | statements/refresh | engine ms | wall ms "
        "| rows returned | series | build ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size in report.sizes:
        for cost in size.costs.values():
            lines.append(
                f"| {cost.collector} | x{size.factor:g} | {cost.table_rows:,} "
                f"| {_n(cost.median('statements'))} "
                f"| {_ms(cost.median('engine_seconds') * 1e3)} "
                f"| {_n(cost.median('wall_seconds') * 1e3)} | {_n(cost.median('rows'))} "
                f"| {_n(cost.median('series'))} | {_ms(cost.median('build_seconds') * 1e3)} |"
            )
    lines += ["", *_growth(report), "", *_rates(report), ""]
    return lines


def _growth(report: RefreshReport) -> list[str]:
    if len(report.sizes) < 2:
        return []
    small, large = report.sizes[0], report.sizes[-1]
    lines = [
        f"Cost growth x{small.factor:g} -> x{large.factor:g} (target: engine seconds grow no "
        "faster than n log n of the rows in the collector's tables):",
        "",
        "| collector | rows ratio | engine ratio | n log n bound | verdict |",
        "|---|--:|--:|--:|---|",
    ]
    for name, before in small.costs.items():
        after = large.costs[name]
        ratio = _ratio(after.median("engine_seconds"), before.median("engine_seconds"))
        bound = growth_bound(before.table_rows, after.table_rows)
        lines.append(
            f"| {name} | {after.table_rows / max(before.table_rows, 1):.2f} | {ratio:.2f} "
            f"| {bound:.2f} | {_verdict(ratio <= bound)} |"
        )
    return lines


def _rates(report: RefreshReport) -> list[str]:
    costs = report.sizes[0].costs
    total_derived = sum(
        rate.derived * costs[rate.collector].median("statements")
        for rate in report.rates
        if rate.collector in costs
    )
    measured = [rate.measured for rate in report.rates if rate.measured is not None]
    lines = [
        f"Statements per hour at the default intervals: {total_derived:g} (3600 / interval x "
        f"statements per refresh, summed). Sped-up run: intervals / {report.speedup:g}, "
        f"counted over {report.window:g} s and scaled back: {sum(measured):.1f} per hour "
        "(refreshes keep a fixed cadence, so a window of N intervals holds N or N - 1 of them "
        "depending on where it starts; billing refreshes only once or twice in the window, so "
        "its count is coarse).",
        "",
        "| collector | interval s | per hour (derived) | per hour (sped-up run) |",
        "|---|--:|--:|--:|",
    ]
    for rate in report.rates:
        shown = "-" if rate.measured is None else f"{rate.measured:.1f}"
        lines.append(f"| {rate.collector} | {rate.interval:g} | {rate.derived:g} | {shown} |")
    return lines


def startup_section(report: StartupReport) -> list[str]:
    """Peak RSS and start-up timings."""
    lines = [
        "### Memory and start-up",
        "",
        "| series | exporter VmHWM after first refresh | after one scrape of each body "
        "| prometheus-client VmHWM after one scrape of each |",
        "|--:|--:|--:|--:|",
    ]
    for m in report.memory:
        lines.append(
            f"| {m.series:,} | {m.exporter_ready / 1024:.0f} MiB "
            f"| {m.exporter_scraped / 1024:.0f} MiB | {m.baseline_scraped / 1024:.0f} MiB |"
        )
    lines += ["", *_starts(report), ""]
    return lines


def _starts(report: StartupReport) -> list[str]:
    def phases(starts: Sequence[object], label: str) -> str:
        from bench.startup import Start  # noqa: PLC0415

        typed = [s for s in starts if isinstance(s, Start)]
        listening = [s.listening for s in typed if s.listening is not None]
        generated = [s.generated for s in typed if s.generated is not None]
        text = f"* {label}: ready in {StartupReport.median_ready(typed):.2f} s"
        if listening:
            text += f" (listening at {sorted(listening)[len(listening) // 2]:.2f} s"
            text += (
                f", data generated in {sorted(generated)[len(generated) // 2]:.2f} s)"
                if (generated)
                else ")"
            )
        return text + f", median of {len(typed)}"

    lines = [
        "Start-up, process start to `/-/ready` answering 200:",
        "",
        phases(report.demo, "`databricks-exporter --demo` (small preset)"),
        phases(report.against_sim, "exporter alone against a running simulated workspace"),
    ]
    if report.imports is not None:
        imp = report.imports
        heavy = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in imp.heaviest)
        lines.append(
            f"* `-X importtime` (demo): imports {imp.total_seconds:.2f} s in all; "
            f"databricks.sdk imported {imp.sdk_imports} time(s), {imp.sdk_seconds:.2f} s; "
            f"heaviest top-level imports: {heavy}"
        )
    return lines
