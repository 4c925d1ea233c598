"""Structured logging in logfmt and JSON, with secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from databricks_exporter import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root, ours = logging.getLogger(), logging.getLogger("databricks_exporter")
    saved = (root.handlers[:], root.level, ours.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    ours.setLevel(saved[2])


def capture(fmt: str, level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    logs.configure(level, fmt, stream)
    return stream


def test_logfmt_line() -> None:
    stream = capture("logfmt")
    logs.get_logger("scheduler").warning("refresh failed", collector="jobs", err='bad "x"\nnext')
    line = stream.getvalue()
    assert re.fullmatch(
        r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=warn logger=scheduler "
        r'msg="refresh failed" collector=jobs err="bad \\"x\\"\\nnext"\n',
        line,
    )


def test_json_line() -> None:
    stream = capture("json")
    logs.get_logger("main").info("exporter started", port=9976)
    record = json.loads(stream.getvalue())
    assert {k: record[k] for k in ("level", "logger", "msg", "port")} == {
        "level": "info",
        "logger": "main",
        "msg": "exporter started",
        "port": 9976,
    }


def test_level_filters() -> None:
    stream = capture("logfmt", "warn")
    log = logs.get_logger("x")
    log.info("hidden")
    log.debug("hidden too")
    log.error("shown")
    assert stream.getvalue().count("\n") == 1
    assert "msg=shown" in stream.getvalue()


def test_registered_secret_never_reaches_a_line() -> None:
    stream = capture("json")
    logs.register_secret("dose-very-secret-value")
    logs.get_logger("x").error("token refused", detail="client_secret=dose-very-secret-value")
    assert "dose-very-secret-value" not in stream.getvalue()
    assert "client_secret=***" in stream.getvalue()
