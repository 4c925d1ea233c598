"""The alert rules: promtool checks and unit tests, coverage of those tests, and the rules
evaluated by a real Prometheus against the exporter on the simulated workspace."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from prometheus_fixture import NotYet, PrometheusServer, poll

from .bundle import ALERTS, RULE_TESTS, alerts, recordings
from .conftest import sample_names
from .live import REPO, Exporter, rules
from .promql import counter_misuse, metric_names, percent_scaling, recorded_names

SEVERITIES = {"critical", "warning", "info"}


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (.ci/run installs Debian's prometheus package)")
    return subprocess.run(
        ["promtool", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.prometheus
def test_promtool_check_rules_passes() -> None:
    result = promtool("check", "rules", str(ALERTS.relative_to(REPO)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS
    result = promtool("test", "rules", *(str(p.relative_to(REPO)) for p in RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def _unit_cases() -> Iterator[tuple[str, bool]]:
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["rule_files"] == ["../alerts.yml"], path
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                yield case["alertname"], bool(case.get("exp_alerts"))


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    cases = set(_unit_cases())
    names = {rule["alert"] for rule in alerts()}
    assert sorted(n for n in names if (n, True) not in cases) == [], "never seen firing"
    assert sorted(n for n in names if (n, False) not in cases) == [], "never seen quiet"
    assert {name for name, _ in cases} <= names, "tests name an alert that does not exist"


def test_alerts_are_labelled_and_described() -> None:
    for rule in alerts():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert set(rule["annotations"]) >= {"summary", "description"}, rule["alert"]
        assert re.fullmatch(r"Databricks[A-Za-z]+", rule["alert"])
        assert re.fullmatch(r"\d+[mh]", rule.get("for", "0m")), rule["alert"]


def test_ratio_alerts_render_ratios_as_percentages_and_durations_as_durations() -> None:
    for rule in alerts():
        description = rule["annotations"]["description"]
        if "ratio" in rule["expr"]:
            assert "$value | humanizePercentage" in description, rule["alert"]
        if "_seconds" in rule["expr"] and "timestamp" not in rule["expr"]:
            assert "$value | humanizeDuration" in description, rule["alert"]
        assert not percent_scaling(rule["expr"]), rule["alert"]


def test_windowed_values_are_never_rated() -> None:
    problems = {rule["alert"]: counter_misuse(rule["expr"]) for rule in alerts()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_every_threshold_is_defined_once_and_used() -> None:
    defined = [rule["record"] for rule in recordings()]
    assert all(name.startswith("databricks:alert_threshold:") for name in defined)
    assert len(defined) == len(set(defined))
    used = set().union(*(recorded_names(rule["expr"]) for rule in alerts()))
    assert used == set(defined)
    for rule in recordings():
        assert re.fullmatch(r"vector\([\d. *]+\)", rule["expr"]), rule["record"]


def test_rules_select_only_series_the_exporter_serves(exporter: Exporter) -> None:
    served = sample_names(exporter.metrics()) | {"up"}
    for rule in alerts():
        assert metric_names(rule["expr"]) <= served, rule["alert"]


def _all_evaluated(server: PrometheusServer) -> list[dict[str, Any]]:
    loaded = rules(server)
    if len(loaded) != len(alerts()) + len(recordings()):
        raise NotYet(f"{len(loaded)} rules loaded")
    if pending := [rule["name"] for rule in loaded if rule["health"] == "unknown"]:
        raise NotYet(f"not evaluated yet: {pending}")
    return loaded


@pytest.mark.prometheus
def test_rules_evaluate_without_error_on_the_exporters_series(
    demo_prometheus: PrometheusServer,
) -> None:
    loaded = poll(lambda: _all_evaluated(demo_prometheus), 20, "every rule evaluated once")
    assert {rule["name"]: rule.get("lastError") for rule in loaded if rule["health"] != "ok"} == {}


@pytest.mark.prometheus
def test_thresholds_are_recorded_by_the_real_prometheus(demo_prometheus: PrometheusServer) -> None:
    def recorded() -> list[dict[str, Any]]:
        rows = demo_prometheus.query('{__name__=~"databricks:alert_threshold:.+"}')
        if len(rows) != len(recordings()):
            raise NotYet(f"{len(rows)} thresholds recorded")
        return rows

    rows = poll(recorded, 20, "the thresholds to be recorded")
    values = {row["metric"]["__name__"]: float(row["value"][1]) for row in rows}
    assert values["databricks:alert_threshold:job_failure_ratio"] < 1, "ratios are 0..1"
    assert values["databricks:alert_threshold:billing_data_delay_seconds"] == 36 * 3600


def test_rule_files_are_where_the_docs_say() -> None:
    readme = (REPO / "monitoring" / "README.md").read_text(encoding="utf-8")
    for rule in alerts():
        assert rule["alert"] in readme, f"{rule['alert']} is not listed in monitoring/README.md"
    assert Path(ALERTS).name in readme
