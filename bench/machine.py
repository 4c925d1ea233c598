"""Where a run happened: machine, versions of everything measured, the commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
from pathlib import Path

from bench.load import find_tool
from bench.procs import REPO

_PACKAGES = ("aiohttp", "prometheus-client", "duckdb", "databricks-sdk", "sqlglot")


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return "unknown"


def _output(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def _tool_version(name: str) -> str:
    path = find_tool(name)
    if path is None:
        return "missing"
    if name == "wrk":
        match = re.search(r"wrk (\S+)", _output([path, "-v"]))
    elif name == "nginx":
        match = re.search(r"nginx/(\S+)", _output([path, "-v"]))
    else:  # hey has no version flag; ask the package manager
        match = re.fullmatch(r"(\S+)", _output(["dpkg-query", "-W", "-f", "${Version}", name]))
    return match[1] if match else "unknown"


def describe() -> dict[str, str]:
    """Machine, versions and commit, as label -> text."""
    memory_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else "unknown"
    versions = {name: importlib.metadata.version(name) for name in _PACKAGES}
    commit = _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = _output(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    return {
        "machine": f"{os.cpu_count()} CPUs ({_first('/proc/cpuinfo', 'model name')}), "
        f"{memory} memory, Linux {platform.release()}",
        "python": platform.python_version(),
        **versions,
        **{name: _tool_version(name) for name in ("wrk", "hey", "nginx")},
        "commit": commit + (" with uncommitted changes" if dirty else ""),
    }
