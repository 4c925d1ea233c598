"""Fixtures: a started stub workspace and a client pointed at it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from databricks_exporter.settings import FileSecret, Secret, Workspace
from databricks_exporter.warehouse.client import WarehouseClient

from .stub import Stub

ClientFactory = Callable[..., WarehouseClient]


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_client(stub: Stub) -> Iterator[ClientFactory]:
    """Build clients against the stub (closed at the end of the test)."""
    made: list[WarehouseClient] = []

    def make(
        secret: Secret | None = None, host: str | None = None, **options: object
    ) -> WarehouseClient:
        secret = secret or Secret(stub.secret)
        workspace = Workspace(host or stub.url, "wh-1", stub.client_id, secret)
        options.setdefault("statement_timeout", 5.0)
        options.setdefault("poll_interval", 0.02)
        options.setdefault("max_poll_interval", 0.2)
        client = WarehouseClient(workspace, **options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text("wrong-secret-value\n", encoding="utf-8")
    return path


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every log line, the SDK's and urllib3's included, at debug."""
    caplog.set_level(logging.DEBUG)
    return caplog


__all__ = ["ClientFactory", "FileSecret"]
