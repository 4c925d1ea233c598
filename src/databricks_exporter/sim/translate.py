"""Databricks SQL to DuckDB SQL, with the dialect fixes the simulated workspace needs.

sqlglot does most of the work (read `databricks`, write `duckdb`). On top of it:

* `system.<schema>.<table>` lives in the DuckDB catalog `databricks_system` (DuckDB reserves
  `system`); unknown tables raise `TABLE_OR_VIEW_NOT_FOUND` the way Databricks words it.
* `percentile_approx` becomes `QUANTILE_DISC`, the exact value Databricks' sketch returns at
  our sizes (DuckDB's `APPROX_QUANTILE` interpolates); `percentile` becomes `QUANTILE_CONT`.
* `unix_timestamp` truncates like Databricks instead of failing in `STRPTIME`.
* `make_interval` with parameters is rebuilt from `TO_DAYS`/`TO_HOURS`/... so `$name` is not
  swallowed by a string literal.
* `current_timestamp()`, `now()` and `current_date()` read the simulated workspace's clock, as
  literals, so a frozen clock gives reproducible windows and no time-zone conversion happens.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

CATALOG = "databricks_system"


class SqlError(Exception):
    """A statement Databricks would refuse, with its error class and SQLSTATE."""

    def __init__(self, error_class: str, sql_state: str, message: str) -> None:
        super().__init__(f"[{error_class}] {message} SQLSTATE: {sql_state}")
        self.error_class = error_class
        self.sql_state = sql_state


@dataclass(frozen=True)
class Translated:
    """DuckDB SQL ready to run, and the system tables the statement reads."""

    sql: str
    tables: frozenset[str]
    parameters: frozenset[str]


def parse_databricks(sql: str) -> exp.Expr:
    """Parse one Databricks SQL statement or raise PARSE_SYNTAX_ERROR."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="databricks") if s is not None]
    except ParseError as error:
        near = error.errors[0].get("highlight", "") if error.errors else ""
        raise SqlError(
            "PARSE_SYNTAX_ERROR", "42601", f"Syntax error at or near '{near}'."
        ) from None
    except SqlglotError as error:
        raise SqlError("PARSE_SYNTAX_ERROR", "42601", f"Syntax error: {error}.") from None
    if len(statements) != 1:
        raise SqlError(
            "PARSE_SYNTAX_ERROR", "42601", "Syntax error: expected exactly one statement."
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query | exp.Values | exp.Describe):
        raise SqlError(
            "UNSUPPORTED_FEATURE",
            "0A000",
            "The simulated warehouse runs read-only queries (SELECT, WITH, VALUES, DESCRIBE); "
            "system tables cannot be changed.",
        )
    return statement


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _qualified(table: exp.Table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part).lower()


@dataclass(frozen=True)
class Defaults:
    """The request's `catalog` and `schema`, which qualify shorter table names."""

    catalog: str | None = None
    schema: str | None = None


def _qualify(table: exp.Table, defaults: Defaults) -> None:
    if not table.db and defaults.schema:
        table.set("db", exp.to_identifier(defaults.schema))
    if not table.catalog and table.db and defaults.catalog:
        table.set("catalog", exp.to_identifier(defaults.catalog))


def _rewrite_tables(tree: exp.Expr, known: frozenset[str], defaults: Defaults) -> frozenset[str]:
    """Point `system.*` tables at the DuckDB catalog; refuse tables that do not exist."""
    ctes = _cte_names(tree)
    used: set[str] = set()
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table-valued function such as range(5) or explode(...)
        if not table.catalog and not table.db and table.name.lower() in ctes:
            continue
        _qualify(table, defaults)
        name = _qualified(table)
        if name not in known:
            shown = ".".join(f"`{part}`" for part in name.split("."))
            raise SqlError(
                "TABLE_OR_VIEW_NOT_FOUND",
                "42P01",
                f"The table or view {shown} cannot be found. Verify the spelling and "
                "correctness of the schema and catalog.",
            )
        used.add(name)
        table.set("catalog", exp.to_identifier(CATALOG))
    return frozenset(used)


def _timestamp_literal(moment: dt.datetime) -> exp.Expr:
    text = moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))


def _date_literal(moment: dt.datetime) -> exp.Expr:
    text = moment.astimezone(dt.UTC).date().isoformat()
    return exp.cast(exp.Literal.string(text), exp.DataType.build("DATE"))


_INTERVAL_PARTS = (
    ("year", "TO_YEARS"),
    ("month", "TO_MONTHS"),
    ("week", "TO_WEEKS"),
    ("day", "TO_DAYS"),
    ("hour", "TO_HOURS"),
    ("minute", "TO_MINUTES"),
    ("second", "TO_SECONDS"),
)


def _make_interval(node: exp.MakeInterval) -> exp.Expr:
    terms: list[exp.Expr] = []
    for arg, function in _INTERVAL_PARTS:
        value = node.args.get(arg)
        if value is None or (isinstance(value, exp.Literal) and value.this in ("0", 0)):
            continue
        cast = exp.DataType.build("DOUBLE" if arg == "second" else "BIGINT")
        terms.append(exp.Anonymous(this=function, expressions=[exp.cast(value.copy(), cast)]))
    if not terms:
        return exp.Anonymous(this="TO_SECONDS", expressions=[exp.Literal.number(0)])
    result = terms[0]
    for term in terms[1:]:
        result = exp.Add(this=result, expression=term)
    return exp.Paren(this=result)


def _unix_seconds(value: exp.Expr) -> exp.Expr:
    epoch = exp.Anonymous(this="EPOCH", expressions=[value])
    return exp.cast(exp.Floor(this=epoch), exp.DataType.build("BIGINT"))


def _rewrite_functions(tree: exp.Expr, now: dt.datetime) -> exp.Expr:
    def transform(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ApproxQuantile):
            return exp.Anonymous(
                this="QUANTILE_DISC", expressions=[node.this, node.args["quantile"]]
            )
        if isinstance(node, exp.Quantile):
            return exp.Anonymous(
                this="QUANTILE_CONT", expressions=[node.this, node.args["quantile"]]
            )
        if isinstance(node, exp.StrToUnix | exp.UnixSeconds):
            target = node.this if node.this is not None else _timestamp_literal(now)
            return _unix_seconds(target)
        if isinstance(node, exp.MakeInterval):
            return _make_interval(node)
        return node

    def clock(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CurrentTimestamp):
            return _timestamp_literal(now)
        if isinstance(node, exp.CurrentDate):
            return _date_literal(now)
        return node

    return tree.transform(transform).transform(clock)


def translate(
    sql: str,
    *,
    now: dt.datetime,
    known_tables: frozenset[str],
    defaults: Defaults | None = None,
) -> Translated:
    """Translate one Databricks SQL statement for DuckDB, as of the simulated `now`."""
    tree = parse_databricks(sql)
    parameters = frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)
    tables = _rewrite_tables(tree, known_tables, defaults or Defaults())
    tree = _rewrite_functions(tree, now)
    return Translated(sql=tree.sql(dialect="duckdb"), tables=tables, parameters=parameters)


def bind_parameters(
    names: frozenset[str], given: Mapping[str, tuple[str | None, str]]
) -> dict[str, object]:
    """Convert API parameters `{name: (value, TYPE)}` into DuckDB values, as if by CAST."""
    missing = sorted(names - given.keys())
    if missing:
        raise SqlError(
            "UNBOUND_SQL_PARAMETER",
            "42P02",
            f"Found the unbound parameter: {missing[0]}. Please, fix `args` and provide a "
            "mapping of the parameter to either a SQL literal or collection constructor "
            "functions such as `map()`, `array()`, `struct()`.",
        )
    return {name: _cast_parameter(name, *given[name]) for name in names}


def _decimal(text: str) -> decimal.Decimal:
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


_INTEGER_TYPES = {"INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE"}


def _cast_parameter(name: str, value: str | None, type_name: str) -> object:  # noqa: PLR0911
    if value is None:
        return None
    kind = type_name.upper().split("(")[0].strip()
    try:
        if kind in _INTEGER_TYPES:
            return int(value)
        if kind in ("DOUBLE", "FLOAT"):
            return float(value)
        if kind == "DECIMAL":
            return _decimal(value)
        if kind == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind == "TIMESTAMP":
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if kind == "DATE":
            return dt.date.fromisoformat(value)
    except ValueError:
        raise SqlError(
            "CAST_INVALID_INPUT",
            "22018",
            f'The value \'{value}\' of the type "STRING" cannot be cast to "{kind}" '
            f"because it is malformed (parameter :{name}).",
        ) from None
    if kind in ("STRING", "VARCHAR", "CHAR", ""):
        return value
    raise SqlError(
        "INVALID_PARAMETER_VALUE", "22023", f"Unsupported parameter type {type_name} for :{name}."
    )
