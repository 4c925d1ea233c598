"""Generated system tables kept on disk between runs: the large preset at 4x takes minutes.

A cached database is a DuckDB file named after its seed, preset, size factor and a digest of
the generator's sources and the frozen clock, so a change to the generator makes a new one
(the stale file of the same preset and size is removed). Row counts per table sit beside it
in JSON. Each run works on a copy: the simulated warehouse appends its own statements to
`system.query.history`, and the cached file must stay as generated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / ".cache"
_SOURCES = ("databricks_exporter.sim", "databricks_exporter.sim.data")


@dataclass(frozen=True)
class CachedDatabase:
    """A generated database file and its row count per table."""

    path: Path
    rows: dict[str, int]
    generated_seconds: float
    fresh: bool

    def copy_to(self, directory: Path) -> Path:
        """A private copy for one simulated workspace."""
        target = directory / self.path.name
        shutil.copyfile(self.path, target)
        return target


def _digest(seed: int, scale: str, factor: float, now: dt.datetime) -> str:
    digest = hashlib.sha256(f"{seed}|{scale}|{factor!r}|{now.isoformat()}".encode())
    for package in _SOURCES:
        for entry in sorted(resources.files(package).iterdir(), key=lambda e: e.name):
            if entry.is_file() and entry.name.endswith((".py", ".sql")):
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()[:16]


def cached_database(
    directory: Path, *, seed: int, scale: str, factor: float, now: dt.datetime
) -> CachedDatabase:
    """The cached database for these inputs, generated first if it is not there."""
    stem = f"{scale}-seed{seed}-x{factor:g}"
    path = directory / f"{stem}-{_digest(seed, scale, factor, now)}.duckdb"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        saved = json.loads(meta.read_text(encoding="utf-8"))
        return CachedDatabase(path, saved["rows"], saved["seconds"], fresh=False)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f"{stem}-*"):
        stale.unlink()
    rows, seconds = _generate(path, seed=seed, scale=scale, factor=factor, now=now)
    meta.write_text(json.dumps({"rows": rows, "seconds": seconds}), encoding="utf-8")
    return CachedDatabase(path, rows, seconds, fresh=True)


def _generate(
    path: Path, *, seed: int, scale: str, factor: float, now: dt.datetime
) -> tuple[dict[str, int], float]:
    from databricks_exporter.sim import generator  # noqa: PLC0415  (DuckDB, only when needed)

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    con = generator.create_database(str(partial))
    con.execute("SET enable_progress_bar = false")
    try:
        stats = generator.generate(con, seed=seed, scale=scale, now=now, size_factor=factor)  # type: ignore[arg-type]
    finally:
        con.close()
    partial.rename(path)
    return dict(stats.rows), time.perf_counter() - started
