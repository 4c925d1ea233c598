"""Fixtures: a simulated workspace on loopback and databricks-sdk clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient

from databricks_exporter.sim import ThreadedWorkspace

from .helpers import FROZEN_NOW, sdk_client


@pytest.fixture(scope="module")
def workspace() -> Iterator[ThreadedWorkspace]:
    """One workspace per test module: empty tables, clock frozen, small chunks."""
    with ThreadedWorkspace(now=FROZEN_NOW, chunk_bytes=4096, generate=False) as ws:
        yield ws


@pytest.fixture
def ws(workspace: ThreadedWorkspace) -> Iterator[ThreadedWorkspace]:
    """The module's workspace with no faults on, before and after the test."""
    workspace.faults.clear()
    yield workspace
    workspace.faults.clear()


@pytest.fixture(scope="module")
def client(workspace: ThreadedWorkspace) -> WorkspaceClient:
    """A databricks-sdk client for the module's workspace."""
    return sdk_client(workspace)
