"""`python -m bench [--quick | --smoke] [--parts ...]`: run the benchmarks, append the results.

Profiles: the full run (about 15 minutes on two cores, plus a few minutes the first time to
generate and cache the large preset at two sizes), `--quick` (about a minute) and `--smoke`
(seconds; what the test suite runs). The scrape part needs wrk (or hey) and nginx; without
them it is skipped with a message and the other parts still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import machine, refresh, report, scrape, startup
from bench.cache import DEFAULT_DIR
from bench.load import find_tool, missing_tools
from databricks_exporter import logs

PARTS = ("scrape", "refresh", "startup")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Profile:
    """How big and how long each part runs."""

    name: str
    scrape: scrape.ScrapeSettings
    refresh_scale: str
    refresh_factors: tuple[float, ...]
    refresh_repeats: int
    speedup: float
    speedup_window: float
    memory_sizes: tuple[int, ...]
    starts: int


PROFILES = {
    "full": Profile(
        name="full",
        scrape=scrape.ScrapeSettings(
            sizes=(10_000, 100_000), connections=(1, 16, 64), seconds=5.0, repeats=3,
            baseline_seconds=10.0,
        ),
        refresh_scale="large", refresh_factors=(1.0, 4.0), refresh_repeats=5,
        speedup=60.0, speedup_window=120.0, memory_sizes=(10_000, 100_000), starts=3,
    ),
    "quick": Profile(
        name="quick",
        scrape=scrape.ScrapeSettings(
            sizes=(10_000,), connections=(1, 64), seconds=2.0, repeats=1, baseline_seconds=3.0,
        ),
        refresh_scale="small", refresh_factors=(1.0, 4.0), refresh_repeats=2,
        speedup=600.0, speedup_window=10.0, memory_sizes=(10_000,), starts=1,
    ),
    "smoke": Profile(
        name="smoke",
        scrape=scrape.ScrapeSettings(
            sizes=(1_000,), connections=(4,), seconds=1.0, repeats=1, baseline_seconds=1.0,
            warmup=0.0,
        ),
        refresh_scale="small", refresh_factors=(0.25, 1.0), refresh_repeats=1,
        speedup=3600.0, speedup_window=1.0, memory_sizes=(1_000,), starts=1,
    ),
}  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The harness's options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    size.add_argument(
        "--smoke", action="store_true", help="a tiny run that keeps the harness working"
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}"
    )
    parser.add_argument("--tool", choices=("wrk", "hey"), help="load generator (default: wrk)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file appended to")
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the raw JSON")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_DIR, help="generated databases")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown part(s) {', '.join(unknown)}; choose from {PARTS}")
    return args


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _scrape_tool(preferred: str | None) -> str | None:
    """The load generator to use, or None (with a message) when the scrape part cannot run."""
    missing = missing_tools()
    if missing:
        _say(
            f"missing: {', '.join(missing)} (Debian packages wrk, hey, nginx-light; see "
            "bench/README.md)"
        )
    if find_tool("nginx") is None:
        _say("scrape part skipped: it needs nginx as the static ceiling")
        return None
    for tool in [preferred] if preferred else ["wrk", "hey"]:
        if tool and find_tool(tool):
            return tool
    _say("scrape part skipped: it needs wrk or hey")
    return None


class Run:
    """One invocation: runs parts, keeps their Markdown, saves raw figures as each ends."""

    def __init__(self, args: argparse.Namespace, profile: Profile, raw_path: Path | None) -> None:
        self.args, self.profile, self.raw_path = args, profile, raw_path
        self.lines: list[str] = []
        self.raw: dict[str, Any] = {"profile": profile.name}

    def record(self, part: str, result: Any, section: Callable[[], list[str]]) -> None:
        """Keep a part's raw figures (on disk at once) and its Markdown section."""
        self.raw[part] = _plain(result)
        if self.raw_path is not None:
            self.raw_path.parent.mkdir(parents=True, exist_ok=True)
            self.raw_path.write_text(json.dumps(self.raw, indent=1, default=str), "utf-8")
        try:
            self.lines += section()
        except Exception as error:  # the figures are saved; keep the run's other sections
            traceback.print_exc()
            self.lines += [f"### {part}: report failed ({error!r}); see the raw figures", ""]

    def scrape(self) -> None:
        """The scrape part, when its tools are there."""
        tool = _scrape_tool(self.args.tool)
        if tool is None:
            return
        settings = dataclasses.replace(self.profile.scrape, tool=tool)
        results = scrape.run(settings, _say)
        self.record(
            "scrape", results, lambda: report.scrape_section(results, tool, settings.repeats)
        )

    def refresh(self) -> None:
        """The refresh part."""
        p = self.profile
        refreshed = refresh.run(
            scale=p.refresh_scale, factors=p.refresh_factors, repeats=p.refresh_repeats,
            speedup=p.speedup, window=p.speedup_window, cache_dir=self.args.cache_dir, say=_say,
        )  # fmt: skip
        self.record("refresh", refreshed, lambda: report.refresh_section(refreshed))

    def startup(self) -> None:
        """The memory and start-up part."""
        p = self.profile
        started = startup.run(
            sizes=p.memory_sizes, starts=p.starts, cache_dir=self.args.cache_dir, say=_say
        )
        self.record("startup", started, lambda: report.startup_section(started))


def _plain(value: Any) -> Any:
    """Dataclasses to JSON-ready data (tuple keys become strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every child process is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    logs.configure("warn", "logfmt", sys.stderr)
    started = dt.datetime.now(dt.UTC)
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    _say(f"bench: {profile} run of {', '.join(args.parts)}")
    stamp = f"{started:%Y%m%dT%H%M%SZ}-{profile}.json"
    current = Run(args, PROFILES[profile], None if args.no_record else args.out / stamp)
    for part in PARTS:
        if part in args.parts:
            getattr(current, part)()
    minutes = (dt.datetime.now(dt.UTC) - started).total_seconds() / 60
    title = f"{started:%Y-%m-%d %H:%M} UTC, {profile} run ({minutes:.1f} min)"
    settings = f"profile {profile}, parts {', '.join(args.parts)}"
    header = report.header(title, machine.describe(), settings)
    text = "\n".join([*header, *current.lines]) + "\n"
    print(text)
    if not args.no_record:
        with args.results.open("a", encoding="utf-8") as results:
            results.write("\n" + text)
        _say(f"appended to {args.results}; raw figures in {args.out / stamp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
