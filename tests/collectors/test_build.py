"""`base.build_families`: long-format rows to families, and how bad rows are handled."""

from __future__ import annotations

import logging

import pytest

from databricks_exporter.collectors.base import NOW_ROW, MetricSpec, build_families
from databricks_exporter.warehouse.errors import ResultError
from databricks_exporter.warehouse.result import Column, StatementResult, Value
from reference import Expected, from_samples, labels

COUNTER = MetricSpec("x_runs_total", "counter", "Runs.", ("workspace_id",))
GAUGE = MetricSpec("x_status", "gauge", "Status.", ("workspace_id", "status"))
SPECS = (COUNTER, GAUGE)
COLUMNS = ("metric", "workspace_id", "status", "value")
NOW_VALUE = 1_795_608_000.0


def result(*rows: tuple[Value, ...], columns: tuple[str, ...] = COLUMNS) -> StatementResult:
    return StatementResult("stmt-1", tuple(Column(name, "STRING") for name in columns), tuple(rows))


def now_row() -> tuple[Value, ...]:
    return (NOW_ROW, None, None, NOW_VALUE)


def built(*rows: tuple[Value, ...]) -> Expected:
    data = build_families("x", SPECS, result(now_row(), *rows))
    return from_samples(s for family in data.families for s in family.samples)


def test_rows_become_series_and_now_the_as_of() -> None:
    data = build_families(
        "x",
        SPECS,
        result(
            ("x_runs_total", "ws1", None, 3.0),
            ("x_status", "ws1", "FAILED", 1.0),
            now_row(),
        ),
    )
    assert data.as_of == NOW_VALUE
    assert data.series == 2
    assert data.rejected == ()
    assert [f.name for f in data.families] == ["x_runs", "x_status"]
    assert [f.type for f in data.families] == ["counter", "gauge"]


def test_missing_label_column_fails_the_refresh() -> None:
    with pytest.raises(ResultError, match="status"):
        build_families("x", SPECS, result(now_row(), columns=("metric", "workspace_id", "value")))


def test_missing_value_column_fails_the_refresh() -> None:
    with pytest.raises(ResultError, match="value"):
        build_families("x", SPECS, result(columns=("metric", "workspace_id", "status")))


def test_missing_now_row_fails_the_refresh() -> None:
    with pytest.raises(ResultError, match=NOW_ROW):
        build_families("x", SPECS, result(("x_runs_total", "ws1", None, 3.0)))


def test_empty_result_fails_the_refresh() -> None:
    with pytest.raises(ResultError):
        build_families("x", SPECS, result())


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), "many", True])
def test_unusable_value_withholds_only_that_metric(bad: Value) -> None:
    data = build_families(
        "x",
        SPECS,
        result(
            now_row(),
            ("x_runs_total", "ws1", None, 3.0),
            ("x_status", "ws1", "FAILED", bad),
            ("x_status", "ws2", "FAILED", 1.0),
        ),
    )
    assert data.rejected == ("x_status",)
    assert [f.name for f in data.families] == ["x_runs"]
    assert data.series == 1


def test_numeric_text_values_are_accepted() -> None:
    assert built(("x_runs_total", "ws1", None, "4")) == {
        "x_runs_total": {labels(workspace_id="ws1"): 4.0}
    }


def test_duplicates_sum_for_counters_and_last_wins_for_gauges(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        series = built(
            ("x_runs_total", "ws1", None, 3.0),
            ("x_runs_total", "ws1", None, 4.0),
            ("x_status", "ws1", "OK", 1.0),
            ("x_status", "ws1", "OK", 5.0),
        )
    assert series == {
        "x_runs_total": {labels(workspace_id="ws1"): 7.0},
        "x_status": {labels(workspace_id="ws1", status="OK"): 5.0},
    }
    assert "duplicate" in caplog.text


def test_null_labels_become_unknown() -> None:
    assert built(("x_status", None, None, 2.0)) == {
        "x_status": {labels(workspace_id="unknown", status="unknown"): 2.0}
    }


def test_label_values_pass_through_unchanged() -> None:
    odd = 'a "b" \\ c\nd ü'
    assert built(("x_status", odd, odd, 1.0)) == {
        "x_status": {labels(workspace_id=odd, status=odd): 1.0}
    }


def test_whole_number_labels_lose_the_decimal_point() -> None:
    assert built(("x_runs_total", 1234567890123.0, None, 1.0)) == {
        "x_runs_total": {labels(workspace_id="1234567890123"): 1.0}
    }


def test_unlabelled_columns_of_a_metric_are_ignored() -> None:
    # x_runs_total has no status label; whatever that column holds does not matter.
    assert built(("x_runs_total", "ws1", "ignored", 1.0)) == {
        "x_runs_total": {labels(workspace_id="ws1"): 1.0}
    }


def test_unexpected_metric_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        series = built(("x_other", "ws1", None, 1.0), ("x_runs_total", "ws1", None, 1.0))
    assert series == {"x_runs_total": {labels(workspace_id="ws1"): 1.0}}
    assert [r.__dict__["kv"]["metrics"] for r in caplog.records] == ["x_other"]


def test_many_unexpected_rows_log_one_line(caplog: pytest.LogCaptureFixture) -> None:
    rows = [(f"x_bad_{i % 7}", "ws1", None, 1.0) for i in range(50)]
    with caplog.at_level(logging.WARNING):
        built(*rows)
    assert [r.__dict__["kv"]["metrics"] for r in caplog.records] == [
        "x_bad_0, x_bad_1, x_bad_2, x_bad_3, x_bad_4 (+2 more)"
    ]


@pytest.mark.parametrize("bad", [None, float("nan"), "soon"])
def test_unusable_now_value_fails_with_its_own_message(
    bad: Value, caplog: pytest.LogCaptureFixture
) -> None:
    rows = result((NOW_ROW, None, None, bad), ("x_runs_total", "ws1", None, None))
    with caplog.at_level(logging.WARNING), pytest.raises(ResultError) as caught:
        build_families("x", SPECS, rows)
    assert str(caught.value) == "x: the __now__ row has no numeric value (NULL, NaN or text)"
    assert caplog.records == [], "no per-metric warnings for a refresh that fails as a whole"


def test_metrics_without_rows_are_empty_families() -> None:
    data = build_families("x", SPECS, result(now_row()))
    assert [(f.name, f.samples) for f in data.families] == [("x_runs", []), ("x_status", [])]
    assert data.series == 0
