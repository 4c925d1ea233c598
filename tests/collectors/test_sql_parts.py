"""Statement files and their shared parts: what `load_sql` sends, and what it refuses."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import sqlglot

from databricks_exporter.collectors.base import INCLUDE, PART_SUFFIX, load_sql

PACKAGE = "databricks_exporter.collectors"
#: Each shared part and the two statements (a seed statement and its drill-down) that use it.
PARTS = {
    "billing_prices.part.sql": {"billing.sql", "billing_attributed.sql"},
    "jobs_runs.part.sql": {"jobs.sql", "jobs_by_job.sql"},
    "pipelines_updates.part.sql": {"pipelines.sql", "pipelines_by_pipeline.sql"},
    "queries_statements.part.sql": {"queries.sql", "queries_by_warehouse.sql"},
}


def _files() -> tuple[list[str], list[str]]:
    names = sorted(f.name for f in resources.files(PACKAGE).iterdir() if f.name.endswith(".sql"))
    parts = [n for n in names if n.endswith(PART_SUFFIX)]
    return [n for n in names if n not in parts], parts


def _raw(name: str) -> str:
    return resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")


def test_every_part_is_used_by_exactly_its_two_statements() -> None:
    statements, parts = _files()
    used: dict[str, set[str]] = {part: set() for part in parts}
    for statement in statements:
        for line in _raw(statement).splitlines():
            if line.startswith(INCLUDE):
                used[line.removeprefix(INCLUDE).strip()].add(statement)
    assert used == PARTS


@pytest.mark.parametrize("statement", _files()[0])
def test_expanded_statement_is_one_flat_statement(statement: str) -> None:
    sql = load_sql(PACKAGE, statement)
    assert INCLUDE not in sql
    # Each part's CTEs are in the text exactly once, and the result parses as one statement.
    for part, users in PARTS.items():
        body = _raw(part)
        assert sql.count(body) == (1 if statement in users else 0), part
    parsed = sqlglot.parse(sql, read="databricks")
    assert len(parsed) == 1


@pytest.mark.parametrize("part", sorted(PARTS))
def test_part_is_whole_ctes_each_followed_by_a_comma(part: str) -> None:
    code = "\n".join(line for line in _raw(part).splitlines() if not line.startswith("--"))
    ctes = re.findall(r"^(\w+) AS \($", code, flags=re.MULTILINE)
    assert ctes, part
    assert code.rstrip().endswith("),")
    assert code.count("\n),") == len(ctes)


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> str:
    # A fresh name each time: a package once imported stays in sys.modules.
    package = "sqlparts_" + re.sub(r"\W", "_", tmp_path.name)
    root = tmp_path / package
    root.mkdir()
    (root / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return package


def test_include_line_replaced_by_the_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _package(
        tmp_path,
        monkeypatch,
        {
            "s.sql": "WITH\n-- include: a.part.sql\nb AS (SELECT x FROM a)\nSELECT x FROM b\n",
            "a.part.sql": "a AS (SELECT 1 AS x),",
        },
    )
    assert load_sql(package, "s.sql") == (
        "WITH\na AS (SELECT 1 AS x),\nb AS (SELECT x FROM a)\nSELECT x FROM b\n"
    )


def test_include_of_a_statement_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _package(
        tmp_path, monkeypatch, {"s.sql": "-- include: t.sql\nSELECT 1\n", "t.sql": "SELECT 2\n"}
    )
    with pytest.raises(
        ValueError, match=r"s\.sql: an include names a \.part\.sql file, not 't\.sql'"
    ):
        load_sql(package, "s.sql")


def test_part_including_another_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _package(
        tmp_path,
        monkeypatch,
        {
            "s.sql": "WITH\n-- include: a.part.sql\nSELECT 1\n",
            "a.part.sql": "-- include: b.part.sql\n",
            "b.part.sql": "b AS (SELECT 1),\n",
        },
    )
    with pytest.raises(ValueError, match=r"a\.part\.sql: a part may not include another"):
        load_sql(package, "s.sql")
