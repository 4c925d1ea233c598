"""The README documents every flag and environment variable the command line accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from databricks_exporter.cli import OPTIONS, Option
from databricks_exporter.settings import COLLECTOR_NAMES

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _documented_name(name: str) -> str:
    for collector in COLLECTOR_NAMES:
        name = name.replace(f".{collector}.max-age", ".<name>.max-age")
        name = name.replace(f"_{collector.upper()}_MAX_AGE", "_<NAME>_MAX_AGE")
    return name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: str(option.flag))
def test_readme_documents_flag_and_env_var(option: Option) -> None:
    flag, env = option.flag, option.env
    assert f"`{_documented_name(flag)}" in README
    if flag.startswith("--collector.") and flag.count(".") == 1:
        return  # switches are documented once, for billing, as "likewise"
    assert f"`{_documented_name(env)}`" in README


def test_readme_has_exactly_two_quickstart_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands == ["make demo", "make test"]
