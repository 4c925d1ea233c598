"""Structured logging: an event plus key/value pairs, written as logfmt or JSON."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("logfmt", "json")
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn"}
_ROOT = "databricks_exporter"


class _Redactor:
    """Replaces registered secret strings wherever they would reach a log line."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


redact = _Redactor()


def register_secret(secret: str) -> None:
    """Make sure `secret` never appears in a log line, whatever code logs it."""
    redact.add(secret)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": _LEVEL_NAMES.get(record.levelno, "error"),
        "logger": record.name.removeprefix(_ROOT + ".").removeprefix(_ROOT),
        "msg": record.getMessage(),
    }
    fields.update(getattr(record, "kv", {}))
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields.setdefault("err", f"{type(error).__name__}: {error}")
    return fields


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' ="\\\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class LogfmtFormatter(logging.Formatter):
    """`ts=... level=info logger=scheduler msg="refresh done" collector=jobs`."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = (f"{key}={_logfmt_value(value)}" for key, value in _fields(record).items())
        return redact(" ".join(pairs))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the same keys as logfmt."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(json.dumps(_fields(record), default=str, ensure_ascii=False))


class Logger:
    """A thin wrapper so call sites read `log.info("event", key=value)`."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(f"{_ROOT}.{name}" if name else _ROOT)

    def _log(self, level: int, event: str, exc: bool, kv: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"kv": kv}, exc_info=exc)

    def debug(self, event: str, **kv: Any) -> None:
        self._log(logging.DEBUG, event, False, kv)

    def info(self, event: str, **kv: Any) -> None:
        self._log(logging.INFO, event, False, kv)

    def warning(self, event: str, **kv: Any) -> None:
        self._log(logging.WARNING, event, False, kv)

    def error(self, event: str, *, exc_info: bool = False, **kv: Any) -> None:
        self._log(logging.ERROR, event, exc_info, kv)

    def is_debug(self) -> bool:
        """Whether debug lines are written, to skip building expensive ones."""
        return self._logger.isEnabledFor(logging.DEBUG)


def get_logger(name: str) -> Logger:
    """The logger for one module of the exporter."""
    return Logger(name)


def configure(level: str, fmt: str, stream: TextIO | None = None) -> None:
    """Route the exporter's log lines to `stream` (stderr) at `level` in `fmt`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger(_ROOT).setLevel(LEVELS[level])
    _quiet(("databricks", "urllib3", "aiohttp", "asyncio", "sqlglot"), LEVELS[level])


def _quiet(names: Iterable[str], level: int) -> None:
    """Third-party loggers speak only at warning and above (debug passes them through)."""
    for name in names:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )
