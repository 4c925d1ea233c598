"""The whole exposition for a frozen data set and clock, compared byte for byte with a file.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py`
and review the diff: values are checked independently by test_correctness.py, this file
pins everything else (HELP texts, ordering, escaping, self-metrics).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from .conftest import Running

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOLDEN = Path(__file__).parent / "golden"


def _normalise(body: str) -> str:
    """The only machine-dependent value: the Python version in build_info."""
    return body.replace(f'python_version="{platform.python_version()}"', 'python_version="X"')


@pytest.mark.parametrize(
    ("name", "accept"),
    [("metrics.txt", "text/plain"), ("metrics.openmetrics.txt", "application/openmetrics-text")],
)
async def test_exposition_matches_the_golden_file(running: Running, name: str, accept: str) -> None:
    status, body = await running.scrape(Accept=accept)
    assert status == 200
    actual = _normalise(body)
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
