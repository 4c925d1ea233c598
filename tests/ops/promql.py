"""Just enough PromQL reading for the rule and dashboard tests (no parser: Prometheus parses)."""

from __future__ import annotations

import re

#: The only counter the exporter serves that is monotonic; every other `databricks_*` family
#: is a gauge or a value over a sliding window, where rate() and friends are meaningless.
MONOTONIC_COUNTERS = frozenset({"databricks_exporter_statements_total"})
COUNTER_FUNCTIONS = ("rate", "irate", "increase", "resets")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_METRIC = re.compile(r"(?<![\w:])(databricks_[a-z0-9_]+|up)(?![\w:(])")
_RECORDED = re.compile(r"(?<![\w:])(databricks:[a-z0-9_]+:[a-z0-9_]+)(?![\w:])")
_FUNCTION = re.compile(r"\b(" + "|".join(COUNTER_FUNCTIONS) + r")\s*\(")


def without_strings(expr: str) -> str:
    """The expression with its string literals (label values, regexes) blanked."""
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """Names of the exporter's series (and `up`) an expression selects."""
    return set(_METRIC.findall(without_strings(expr)))


def recorded_names(expr: str) -> set[str]:
    """Names of recording rules (level:metric:operation) an expression reads."""
    return set(_RECORDED.findall(without_strings(expr)))


def _argument(text: str, open_paren: int) -> str:
    depth = 0
    for index in range(open_paren, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[open_paren + 1 : index]
    raise ValueError(f"unbalanced parentheses in {text!r}")


def counter_misuse(expr: str) -> list[str]:
    """Windowed values or gauges fed to rate(), irate(), increase() or resets()."""
    text = without_strings(expr)
    problems = []
    for match in _FUNCTION.finditer(text):
        argument = _argument(text, match.end() - 1)
        for name in sorted(metric_names(argument) - MONOTONIC_COUNTERS):
            problems.append(f"{match.group(1)}() over {name}, which is not a monotonic counter")
    return problems


def percent_scaling(expr: str) -> bool:
    """True when an expression scales a ratio to a percentage (ratios stay 0..1)."""
    return re.search(r"\*\s*100\b|\b100\s*\*", without_strings(expr)) is not None
