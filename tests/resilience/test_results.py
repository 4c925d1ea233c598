"""Issue 5, item 7: results that break the row contract (docs/architecture.md).

The jobs statement's result is damaged by the workspace: a missing column, no rows, NaN, NULL or
non-numeric values (which also spoil the `__now__` row), or no `__now__` row. The jobs refresh
fails cleanly as `bad_result` with one log line saying what is wrong, jobs keeps its previous
snapshot, and the other collectors and `/metrics` carry on. A value column typed STRING whose
text is still numeric is read as numbers. When the results are whole again, jobs recovers.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, domain_series, events, kv

JOBS = {"collector": "jobs"}
OTHERS = tuple(name for name in COLLECTORS if name != "jobs")
#: fault -> what the log line says is wrong.
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "drop_column": ({"mode": "drop_column", "column": "value"}, "lacks column(s) value"),
    "empty": ({"mode": "empty"}, "no __now__ row"),
    "nan": ({"mode": "nan", "column": "value"}, "__now__"),
    "null": ({"mode": "null", "column": "value"}, "__now__"),
    "non_numeric": ({"mode": "non_numeric", "column": "value"}, "__now__"),
    "drop_now_row": (
        {"mode": "drop_rows", "column": "metric", "value": "__now__"},
        "no __now__ row",
    ),
}


@pytest.mark.parametrize("damage", sorted(BROKEN))
async def test_broken_result_fails_only_that_refresh_with_a_clear_line(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    corrupt, reason = BROKEN[damage]
    h = make_harness()
    await h.start()
    healthy = await h.scrape()
    await h.set_faults({"corrupt": {**corrupt, "tags": JOBS}})

    assert await h.step()

    scraped = await h.scrape()
    assert scraped.statements("jobs", "bad_result") == 1
    assert (
        scraped.value("databricks_exporter_collector_last_refresh_success", collector="jobs") == 0
    )
    assert domain_series(scraped, "jobs") == domain_series(healthy, "jobs"), "previous snapshot"
    assert scraped.value("databricks_up") == 1.0, "the warehouse answered"
    for name in OTHERS:
        assert scraped.statements(name, "success") == 2
        assert domain_series(scraped, name) == domain_series(healthy, name)
    failures = [r for r in events(logs.records, "scheduler") if r.levelno >= logging.WARNING]
    [line] = failures
    assert (line.getMessage(), kv(line)["collector"], kv(line)["kind"]) == (
        "refresh failed",
        "jobs",
        "bad_result",
    )
    assert reason in kv(line)["err"]

    await h.set_faults({})
    await h.run_for(INTERVAL)

    recovered = await h.scrape()
    assert recovered.statements("jobs", "success") == 2
    assert domain_series(recovered, "jobs") == domain_series(healthy, "jobs")
    [back] = [r for r in events(logs.records) if r.getMessage() == "refresh recovered"]
    assert kv(back)["after"] == "bad_result"


async def test_numbers_in_a_string_column_are_still_numbers(make_harness: MakeHarness) -> None:
    h = make_harness()
    await h.start()
    healthy = await h.scrape()
    await h.set_faults({"corrupt": {"mode": "wrong_type", "column": "value", "tags": JOBS}})

    assert await h.step()

    scraped = await h.scrape()
    assert scraped.statements("jobs", "success") == 2
    assert scraped.value("databricks_exporter_collector_metrics_withheld", collector="jobs") == 0
    assert domain_series(scraped, "jobs") == domain_series(healthy, "jobs")
