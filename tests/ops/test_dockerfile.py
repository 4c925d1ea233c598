"""The Dockerfile agrees with the code: port, health path, entry point, user, build context.

No Docker engine runs here, so the Dockerfile is read as text, and its health-check command is
run with this Python against a live exporter.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from databricks_exporter.cli import BY_DEST, parse_settings
from databricks_exporter.settings import parse_listen_address
from prometheus_fixture import free_port

from .live import REPO, Exporter

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    parsed = []
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        parsed.append(Instruction(keyword.upper(), arguments.strip()))
    return parsed


def final_stage() -> list[Instruction]:
    """Instructions of the last stage (the image that ships)."""
    parsed = instructions()
    last_from = max(i for i, instruction in enumerate(parsed) if instruction.keyword == "FROM")
    return parsed[last_from:]


def only(keyword: str) -> Instruction:
    found = [i for i in final_stage() if i.keyword == keyword]
    assert len(found) == 1, f"expected exactly one {keyword} in the final stage, got {found}"
    return found[0]


def default_port() -> int:
    default = BY_DEST["web_listen_address"].default
    assert default is not None
    return parse_listen_address(default)[1]


def env_of_final_stage() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def healthcheck_command() -> list[str]:
    arguments = only("HEALTHCHECK").arguments
    _, _, command = arguments.partition(" CMD ")
    parsed = json.loads(command)
    assert isinstance(parsed, list), "HEALTHCHECK CMD must be in exec (JSON array) form"
    return [str(part) for part in parsed]


def console_scripts() -> dict[str, str]:
    with (REPO / "pyproject.toml").open("rb") as file:
        scripts: dict[str, str] = tomllib.load(file)["project"]["scripts"]
    return scripts


def test_multi_stage_build_on_slim_python_311() -> None:
    parsed = instructions()
    base = next(i.arguments for i in parsed if i.keyword == "ARG" and "PYTHON_IMAGE" in i.arguments)
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", base)
    stages = [i for i in parsed if i.keyword == "FROM"]
    assert len(stages) >= 2
    assert all(stage.arguments.startswith("${PYTHON_IMAGE}") for stage in stages)
    copies = [i.arguments for i in final_stage() if i.keyword == "COPY"]
    assert copies
    assert all(c.startswith("--from=build ") for c in copies), "ship only the venv"


def test_expose_is_the_default_listen_port() -> None:
    assert only("EXPOSE").arguments == str(default_port())


def test_healthcheck_probes_healthy_on_the_default_port_without_curl() -> None:
    url = urlsplit(env_of_final_stage()["HEALTHCHECK_URL"])
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "http",
        "127.0.0.1",
        default_port(),
        "/-/healthy",
    )
    command = healthcheck_command()
    assert command[0] == "python"
    assert "HEALTHCHECK_URL" in command[-1]
    assert not {"curl", "wget"} & set(" ".join(command).split())


def test_entrypoint_is_the_console_script() -> None:
    entrypoint = json.loads(only("ENTRYPOINT").arguments)
    scripts = console_scripts()
    assert entrypoint == ["databricks-exporter"]
    assert scripts[entrypoint[0]] == "databricks_exporter.cli:main"


def test_runs_as_an_unprivileged_user() -> None:
    users = [i.arguments for i in final_stage() if i.keyword == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    text = re.escape(pattern.strip("/"))
    text = text.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
    text = text.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.compile(text)


def excluded_by_dockerignore(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    candidates = [str(p) for p in reversed(PurePosixPath(path).parents) if str(p) != "."]
    candidates.append(path)
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _ignore_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_dockerignore_sends_the_sources_and_nothing_else() -> None:
    sources = [
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "src/databricks_exporter/cli.py",
        "src/databricks_exporter/sim/schema.sql",
    ]
    left_out = [
        ".git/HEAD",
        ".venv/bin/python",
        "tests/test_cli.py",
        "monitoring/alerts.yml",
        "src/databricks_exporter/__pycache__/cli.cpython-311.pyc",
        "src/databricks_exporter.egg-info/PKG-INFO",
    ]
    assert [p for p in sources if excluded_by_dockerignore(p)] == []
    assert [p for p in left_out if not excluded_by_dockerignore(p)] == []
    copied = [i.arguments.split()[0] for i in instructions() if i.keyword == "COPY"]
    for source in (c for c in copied if not c.startswith("--from")):
        assert (REPO / source).exists(), f"COPY source {source} is missing from the repository"


def run_healthcheck(url: str) -> subprocess.CompletedProcess[str]:
    command = healthcheck_command()
    assert command[0] == "python"
    env = {**os.environ, "HEALTHCHECK_URL": url}
    return subprocess.run(
        [sys.executable, *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_command_fails_when_nothing_listens() -> None:
    assert run_healthcheck(f"http://127.0.0.1:{free_port()}/-/healthy").returncode == 1


def test_healthcheck_command_passes_against_the_running_exporter(exporter: Exporter) -> None:
    result = run_healthcheck(f"{exporter.url}/-/healthy")
    assert result.returncode == 0, result.stderr


def _documented_demo_runs() -> list[tuple[str, list[str]]]:
    """Every `docker run ... databricks-exporter --demo ...` in the README, docs and Dockerfile:
    where it is, and the arguments that follow the image name."""
    runs = []
    for path in [REPO / "README.md", DOCKERFILE, *sorted((REPO / "docs").glob("*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            found = re.search(r"docker run .*?databricks-exporter (--demo[^`]*)", line)
            if found:
                runs.append((path.name, shlex.split(found.group(1))))
    return runs


def test_documented_container_demo_listens_beyond_loopback() -> None:
    # The demo binds 127.0.0.1 unless told otherwise, which -p cannot reach inside a container.
    runs = _documented_demo_runs()
    assert {where for where, _ in runs} >= {"README.md", "Dockerfile", "deployment.md"}
    for where, argv in runs:
        settings, _ = parse_settings(argv, {})
        hosts = [parse_listen_address(address)[0] for address in settings.listen_addresses]
        assert settings.demo, where
        assert all(host in ("", "0.0.0.0", "::") for host in hosts), (where, hosts)
