"""Deployment files and docs agree with the code: flags, env vars, defaults, grants, configs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from databricks_exporter.cli import OPTIONS
from databricks_exporter.settings import COLLECTOR_NAMES, DEFAULT_INTERVALS, format_duration

from .bundle import ALERTS
from .live import REPO, SCRAPE_JOB

UNIT = REPO / "deploy" / "databricks-exporter.service"
ENV_EXAMPLE = REPO / "deploy" / "databricks-exporter.env"
DEPLOYMENT = REPO / "docs" / "deployment.md"
COST = REPO / "docs" / "cost.md"
#: Flags of other tools (docker, systemd-analyze, pip) that the docs use.
OTHER_TOOLS_FLAGS = {
    "--rm",
    "--name",
    "--restart",
    "--read-only",
    "--cap-drop",
    "--security-opt",
    "--no-healthcheck",
    "--now",
}


def exporter_flags() -> set[str]:
    flags = {option.flag for option in OPTIONS} | {"--help", "--version"}
    negated = {f"--no-{o.flag.removeprefix('--')}" for o in OPTIONS if o.boolean}
    return flags | negated


def env_twins() -> set[str]:
    return {option.env for option in OPTIONS}


def flags_in(text: str) -> set[str]:
    """Flags in a text; `--collector.<name>.interval` stands for each collector's flag."""
    found = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9.<>-]*[a-z0-9>]", text))
    return {flag.replace("<name>", name) for flag in found for name in COLLECTOR_NAMES}


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_unit_starts_the_console_script_with_the_secret_from_a_credential() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(\S+)(.*)$", unit, flags=re.MULTILINE)
    assert exec_start
    assert exec_start.group(1).endswith("/bin/databricks-exporter")
    assert "--client-secret-file=%d/client-secret" in exec_start.group(2)
    assert "LoadCredential=client-secret:" in unit
    assert "DynamicUser=yes" in unit
    assert flags_in(exec_start.group(2)) <= exporter_flags()


def test_env_example_names_only_real_env_twins() -> None:
    names = re.findall(r"^#?(DATABRICKS_EXPORTER_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M)
    assert names
    assert set(names) <= env_twins()
    assert "DATABRICKS_EXPORTER_CLIENT_SECRET" not in names, "the secret goes in a credential"


def _unit_with_real_binary(tmp_path: Path) -> Path:
    binary = Path(sys.executable).with_name("databricks-exporter")
    copy = tmp_path / UNIT.name
    text = UNIT.read_text(encoding="utf-8")
    copy.write_text(text.replace("/opt/databricks-exporter/bin/databricks-exporter", str(binary)))
    return copy


def test_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = _unit_with_real_binary(tmp_path)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (verify.returncode, verify.stderr) == (0, "")
    # Exposure 0.0 (locked down) .. 10.0 (unsafe); the threshold is in tenths.
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert security.returncode == 0, security.stdout[-500:]


@pytest.mark.parametrize("doc", [DEPLOYMENT, COST], ids=lambda p: p.name)
def test_docs_use_only_real_flags_and_env_vars(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    unknown = flags_in(text) - exporter_flags() - OTHER_TOOLS_FLAGS
    assert unknown == set()
    env = set(re.findall(r"DATABRICKS_EXPORTER_[A-Z_]+", text))
    assert env <= env_twins()


def test_cost_page_counts_statements_from_the_default_intervals() -> None:
    text = COST.read_text(encoding="utf-8")
    per_hour = sum(3600 / interval for interval in DEFAULT_INTERVALS.values())
    assert per_hour == 37
    assert "**37 statements per hour** (888 per day)" in text
    for name, interval in DEFAULT_INTERVALS.items():
        row = f"| {name} | `--collector.{name}.interval` | {format_duration(interval)} | "
        assert row + f"{3600 / interval:.0f} |" in text


def test_deployment_grants_exactly_what_is_read() -> None:
    text = DEPLOYMENT.read_text(encoding="utf-8")
    grants = "\n".join(code_blocks(text, "sql"))
    assert "GRANT USE CATALOG ON CATALOG system TO" in grants
    for schema in ("billing", "lakeflow", "query", "compute"):
        assert f"GRANT USE SCHEMA ON SCHEMA system.{schema} TO" in grants
        assert f"GRANT SELECT ON SCHEMA system.{schema} TO" in grants
    assert "MANAGE" not in grants
    assert "Can use" in text


def _scrape_configs(text: str) -> list[dict[str, Any]]:
    blocks = [yaml.safe_load(block) for block in code_blocks(text, "yaml")]
    return [block for block in blocks if "scrape_configs" in block]


def test_scrape_configs_select_the_job_the_alerts_expect() -> None:
    configs = _scrape_configs(DEPLOYMENT.read_text(encoding="utf-8"))
    assert len(configs) == 2
    for config in configs:
        jobs = [scrape["job_name"] for scrape in config["scrape_configs"]]
        assert jobs == [SCRAPE_JOB]


def _with_local_files(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The config with file references pointed at files that exist here."""
    if "rule_files" in config:
        config["rule_files"] = [str(ALERTS)]
    for scrape in config["scrape_configs"]:
        if "tls_config" in scrape:
            ca = tmp_path / "ca.crt"
            ca.write_text("", encoding="utf-8")
            scrape["tls_config"]["ca_file"] = str(ca)
        if "basic_auth" in scrape:
            password = tmp_path / "password"
            password.write_text("x", encoding="utf-8")
            scrape["basic_auth"]["password_file"] = str(password)
    return config


@pytest.mark.prometheus
def test_scrape_configs_pass_promtool(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (.ci/run installs Debian's prometheus package)")
    for index, config in enumerate(_scrape_configs(DEPLOYMENT.read_text(encoding="utf-8"))):
        path = tmp_path / f"prometheus-{index}.yml"
        path.write_text(yaml.safe_dump(_with_local_files(config, tmp_path)), encoding="utf-8")
        result = subprocess.run(
            ["promtool", "check", "config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
