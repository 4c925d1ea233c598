"""Closed-loop HTTP load with `wrk` (or `hey`): throughput and latency percentiles.

Each run is bounded: the tool's own duration plus its request timeout and a margin, after
which the tool is killed. wrk runs with one thread, so the server under test keeps the other
core of a two-core machine.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

TOOLS = ("wrk", "hey", "nginx")
_NGINX_PATHS = ("/usr/sbin/nginx", "/sbin/nginx")
_MARGIN = 15.0
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


class ToolMissing(RuntimeError):
    """A load or static-serving tool is not installed."""


def find_tool(name: str) -> str | None:
    """The path of `name` (nginx also from /usr/sbin, outside most users' PATH)."""
    found = shutil.which(name)
    if found is None and name == "nginx":
        found = next((p for p in _NGINX_PATHS if shutil.which(p)), None)
    return found


def missing_tools() -> list[str]:
    """Which of wrk, hey and nginx are not installed."""
    return [name for name in TOOLS if find_tool(name) is None]


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_second: float


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def _size(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)([KMGT]?)B", text.strip())
    if match is None:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(match[1]) * 1024.0 ** " KMGT".index(match[2] or " ")


def parse_wrk(output: str) -> LoadResult:
    """Parse `wrk --latency` output."""
    done = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w?B) read", output)
    if done is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", output)
    requests = int(done[1])
    return LoadResult(
        requests=requests,
        seconds=_ms(done[2]) / 1000,
        requests_per_second=float(rate[1]) if rate else 0.0,
        p50_ms=_ms(percentiles["50"]) if requests and "50" in percentiles else float("nan"),
        p99_ms=_ms(percentiles["99"]) if requests and "99" in percentiles else float("nan"),
        errors=errors + (int(non_2xx[1]) if non_2xx else 0),
        bytes_per_second=_size(transfer[1]) if transfer else 0.0,
    )


def parse_hey(output: str) -> LoadResult:
    """Parse `hey` summary output."""
    total = re.search(r"Total:\s+([\d.]+) secs", output)
    if total is None:
        raise ValueError(f"unexpected hey output:\n{output}")
    percentiles = dict(re.findall(r"(50|99)% in ([\d.]+) secs", output))
    rest, _, error_part = output.partition("Error distribution:")
    status_part = rest.partition("Status code distribution:")[2]
    statuses = re.findall(r"\[(\d+)\]\s+(\d+) responses", status_part)
    ok = sum(int(n) for code, n in statuses if code.startswith("2"))
    failed = sum(int(n) for code, n in statuses if not code.startswith("2"))
    errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", error_part, re.MULTILINE))
    size = re.search(r"Total data:\s+(\d+) bytes", output)
    seconds = float(total[1])
    return LoadResult(
        requests=ok,
        seconds=seconds,
        requests_per_second=ok / seconds if seconds else 0.0,
        p50_ms=float(percentiles["50"]) * 1000 if ok and "50" in percentiles else float("nan"),
        p99_ms=float(percentiles["99"]) * 1000 if ok and "99" in percentiles else float("nan"),
        errors=failed + errors,
        bytes_per_second=int(size[1]) / seconds if size and seconds else 0.0,
    )


def run_load(
    tool: str,
    url: str,
    *,
    connections: int,
    seconds: float,
    gzip: bool,
    timeout: float = 10.0,
) -> LoadResult:
    """Load `url` with `connections` keep-alive connections for `seconds`."""
    path = find_tool(tool)
    if path is None:
        raise ToolMissing(tool)
    if tool == "wrk":  # wrk takes whole seconds only
        seconds = max(1, round(seconds))
        args = [path, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
        args += [f"--timeout={timeout:g}s", *(["-H", "Accept-Encoding: gzip"] if gzip else [])]
    else:
        args = [path, "-c", str(connections), "-z", f"{seconds:g}s", "-t", f"{timeout:g}"]
        args += ["-H", "Accept-Encoding: gzip"] if gzip else ["-disable-compression"]
    done = subprocess.run(
        [*args, url],
        capture_output=True,
        text=True,
        timeout=seconds + timeout + _MARGIN,
        check=True,
    )
    result = parse_wrk(done.stdout) if tool == "wrk" else parse_hey(done.stdout)
    if result.requests and math.isnan(result.p99_ms):
        print(f"{tool}: no latency percentiles in:\n{done.stdout}", file=sys.stderr)
    return result
