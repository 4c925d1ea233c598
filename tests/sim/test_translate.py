"""Databricks SQL to DuckDB: table names, dialect fixes and parameter binding, run on DuckDB."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator

import duckdb
import pytest

from databricks_exporter.sim.translate import Defaults, SqlError, bind_parameters, translate

NOW = dt.datetime(2026, 11, 25, 12, 0, 30, 900000, tzinfo=dt.UTC)
TABLES = frozenset({"system.billing.usage", "system.query.history"})


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A tiny `databricks_system` catalog with one table per schema used here."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("ATTACH ':memory:' AS databricks_system")
    con.execute("CREATE SCHEMA databricks_system.query")
    con.execute(
        "CREATE TABLE databricks_system.query.history AS SELECT range AS i, "
        "CAST(range AS DOUBLE) + 0.5 AS x, "
        "TIMESTAMP '2026-11-25 12:00:00' - to_hours(CAST(range AS BIGINT)) AS start_time "
        "FROM range(48)"
    )
    yield con
    con.close()


def run(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> list[tuple[object, ...]]:
    """Translate and execute one statement."""
    translated = translate(sql, now=NOW, known_tables=TABLES)
    return con.execute(translated.sql, params or None).fetchall()


def test_system_tables_point_at_the_duckdb_catalog() -> None:
    translated = translate("SELECT * FROM system.query.history", now=NOW, known_tables=TABLES)
    assert "databricks_system" in translated.sql
    assert translated.tables == frozenset({"system.query.history"})


def test_unknown_table_is_table_or_view_not_found() -> None:
    with pytest.raises(SqlError) as caught:
        translate("SELECT * FROM system.billing.nope", now=NOW, known_tables=TABLES)
    assert caught.value.error_class == "TABLE_OR_VIEW_NOT_FOUND"
    assert caught.value.sql_state == "42P01"
    assert str(caught.value).startswith("[TABLE_OR_VIEW_NOT_FOUND] The table or view `system`")


def test_ctes_and_table_functions_are_not_tables(con: duckdb.DuckDBPyConnection) -> None:
    sql = "WITH h AS (SELECT i FROM system.query.history) SELECT count(*) FROM h, range(2)"
    assert run(con, sql) == [(96,)]


def test_syntax_error_is_parse_syntax_error() -> None:
    with pytest.raises(SqlError) as caught:
        translate("SELEC 1 FROM", now=NOW, known_tables=TABLES)
    assert caught.value.error_class == "PARSE_SYNTAX_ERROR"
    assert caught.value.sql_state == "42601"


def test_more_than_one_statement_is_refused() -> None:
    with pytest.raises(SqlError, match="exactly one statement"):
        translate("SELECT 1; SELECT 2", now=NOW, known_tables=TABLES)


def test_percentile_approx_is_the_exact_discrete_quantile(con: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT percentile_approx(x, 0.95), percentile_approx(x, array(0.5, 0.99)) "
        "FROM system.query.history"
    )
    values = sorted(0.5 + i for i in range(48))
    expected = [values[math.ceil(p * 48) - 1] for p in (0.95, 0.5, 0.99)]
    assert run(con, sql) == [(expected[0], expected[1:])]


def test_current_timestamp_reads_the_simulated_clock(con: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT current_timestamp(), current_date(), "
        "count_if(start_time >= current_timestamp() - INTERVAL 2 HOURS) FROM system.query.history"
    )
    assert run(con, sql) == [(NOW.replace(tzinfo=None), NOW.date(), 2)]


def test_unix_timestamp_truncates(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT unix_timestamp(current_timestamp()), unix_timestamp()"
    seconds = math.floor(NOW.timestamp())
    assert run(con, sql) == [(seconds, seconds)]


def test_make_interval_takes_parameters(con: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT count(*) FROM system.query.history WHERE start_time >= "
        "TIMESTAMP '2026-11-25 12:00:00' - make_interval(0, 0, 0, 0, :hours, 30, 0)"
    )
    assert run(con, sql, {"hours": 5}) == [(6,)]


def test_named_parameters_are_reported_and_bound(con: duckdb.DuckDBPyConnection) -> None:
    translated = translate("SELECT :a + :a, :b", now=NOW, known_tables=TABLES)
    assert translated.parameters == frozenset({"a", "b"})
    bound = bind_parameters(translated.parameters, {"a": ("20", "INT"), "b": (None, "STRING")})
    assert con.execute(translated.sql, bound).fetchall() == [(40, None)]


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("12", "BIGINT", 12),
        ("2.5", "DOUBLE", 2.5),
        ("0.100000000000000001", "DECIMAL(38,18)", decimal.Decimal("0.100000000000000001")),
        ("TRUE", "BOOLEAN", True),
        ("2026-11-25", "DATE", dt.date(2026, 11, 25)),
        ("2026-11-25T12:00:00Z", "TIMESTAMP", dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)),
        ("plain", "STRING", "plain"),
    ],
)
def test_parameter_types_are_cast(value: str, kind: str, expected: object) -> None:
    assert bind_parameters(frozenset({"p"}), {"p": (value, kind)}) == {"p": expected}


def test_unbound_parameter_is_refused() -> None:
    with pytest.raises(SqlError) as caught:
        bind_parameters(frozenset({"missing"}), {})
    assert caught.value.error_class == "UNBOUND_SQL_PARAMETER"
    assert "missing" in str(caught.value)


def test_malformed_parameter_value_is_cast_invalid_input() -> None:
    with pytest.raises(SqlError) as caught:
        bind_parameters(frozenset({"n"}), {"n": ("ten", "INT")})
    assert caught.value.error_class == "CAST_INVALID_INPUT"
    assert caught.value.sql_state == "22018"


def test_request_catalog_and_schema_qualify_short_names(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT count(*) FROM history JOIN query.history h2 USING (i)"
    defaults = Defaults(catalog="system", schema="query")
    translated = translate(sql, now=NOW, known_tables=TABLES, defaults=defaults)
    assert translated.tables == frozenset({"system.query.history"})
    assert con.execute(translated.sql).fetchall() == [(48,)]
    with pytest.raises(SqlError, match="TABLE_OR_VIEW_NOT_FOUND"):
        translate("SELECT * FROM history", now=NOW, known_tables=TABLES)


@pytest.mark.parametrize(
    "sql",
    ["DROP TABLE system.billing.usage", "INSERT INTO system.query.history VALUES (1)", "SET x = 1"],
)
def test_only_read_only_statements_run(sql: str) -> None:
    with pytest.raises(SqlError) as caught:
        translate(sql, now=NOW, known_tables=TABLES)
    assert caught.value.error_class == "UNSUPPORTED_FEATURE"
