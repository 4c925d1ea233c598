"""Issue 5, item 1: authentication failures.

The token endpoint refusing the client (401 invalid_client) and the API refusing the token
(401) set `databricks_up` to 0, keep every collector's last data, retry with the jittered
backoff (the token requests the workspace saw follow it), log one line when the failure begins
and one when it ends, and recover without a restart, also when the secret comes from a file
that is rewritten.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from databricks_exporter.logs import LogfmtFormatter
from databricks_exporter.settings import FileSecret

from .conftest import MakeHarness
from .harness import COLLECTORS, INTERVAL, by_collector, domain_series, events, kv
from .harness_backoff import Attempts, assert_backs_off

OUTAGE_LINE = "workspace failing"


def outage_lines(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in events(records, "scheduler") if r.getMessage().startswith(OUTAGE_LINE)]


def restored_lines(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in events(records) if r.getMessage() == "workspace contact restored"]


async def test_refused_token_backs_off_logs_once_and_recovers(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness()
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults({"token": {"status": 401}})
    h.sim.workspace.revoke_tokens()  # the cached token dies with the secret
    attempts = Attempts(h)

    await h.run_for(840, each=attempts)  # less than the max age: the data is still served

    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 0.0
    for name in COLLECTORS:
        assert scraped.statements(name, "auth") == len(attempts.times[name]) >= 5
        assert scraped.value(
            "databricks_exporter_collector_last_refresh_success", collector=name
        ) == (0.0)
        assert domain_series(scraped, name) == domain_series(healthy, name), "last data kept"
        assert_backs_off(attempts.gaps(name), INTERVAL)
    stats = await h.sim_stats()
    assert stats["token_requests_refused"] == attempts.total(), "one token request per attempt"
    assert stats["statements"]["received"] == 0
    [line] = outage_lines(logs.records)
    assert kv(line)["kind"] == "auth"
    assert "invalid_client" in kv(line)["err"]
    assert not restored_lines(logs.records)

    await h.set_faults({})
    await h.run_for(INTERVAL)

    recovered = await h.scrape()
    assert recovered.value("databricks_up") == 1.0
    for name in COLLECTORS:
        assert recovered.statements(name, "success") == 2
        assert domain_series(recovered, name) == domain_series(healthy, name)
    assert len(outage_lines(logs.records)) == 1
    [restored] = restored_lines(logs.records)
    assert kv(restored)["after"] == "auth"
    stats = await h.sim_stats()
    assert stats["tokens_issued"] == 1, "one token for every collector again"
    assert by_collector(stats, "succeeded") == dict.fromkeys(COLLECTORS, 1)


async def test_api_refusing_the_token_reauthenticates_once_per_attempt(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness()
    await h.start()
    await h.reset_sim_stats()
    await h.set_faults({"api": {"status": 401}})
    attempts = Attempts(h)

    await h.run_for(600, each=attempts)

    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 0.0
    stats = await h.sim_stats()
    # Each attempt: the statement is refused, a fresh token fetched, refused again, given up.
    assert stats["faults_injected"]["api_401"] == 2 * attempts.total()
    assert attempts.total() <= stats["tokens_issued"] - 1 <= 2 * attempts.total()
    for name in COLLECTORS:
        assert scraped.statements(name, "auth") == len(attempts.times[name])
        assert_backs_off(attempts.gaps(name), INTERVAL)
    assert len(outage_lines(logs.records)) == 1

    await h.set_faults({})
    await h.run_for(INTERVAL)

    assert (await h.scrape()).value("databricks_up") == 1.0
    assert len(restored_lines(logs.records)) == 1


async def test_rotated_secret_file_is_picked_up_without_a_restart(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    wrong = "wrong-secret-7d3c0a"
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(wrong + "\n", encoding="utf-8")
    h = make_harness(secret=FileSecret(secret_file))
    await h.start()

    status, _ = await h.get("/-/ready")
    assert status == 200, "every collector made its first attempt, failed or not"
    first = await h.scrape()
    assert first.value("databricks_up") == 0.0
    for name in COLLECTORS:
        assert first.statements(name, "auth") == 1
        assert not domain_series(first, name)
    await h.run_for(120)
    assert (await h.sim_stats())["statements"]["received"] == 0

    secret_file.write_text(h.sim.client_secret + "\n", encoding="utf-8")
    await h.run_for(INTERVAL)

    fixed = await h.scrape()
    assert fixed.value("databricks_up") == 1.0
    for name in COLLECTORS:
        assert fixed.statements(name, "success") == 1
        assert domain_series(fixed, name)
    assert (await h.sim_stats())["by_tag"]["app"]["databricks-exporter"]["succeeded"] == 4
    [line] = outage_lines(logs.records)
    assert "invalid_client" in kv(line)["err"]
    assert len(restored_lines(logs.records)) == 1
    text = "\n".join(LogfmtFormatter().format(record) for record in logs.records)
    assert wrong not in text
    assert h.sim.client_secret not in text
    assert wrong not in first.text
    assert h.sim.client_secret not in fixed.text


async def test_principal_refused_the_warehouse_is_an_outage_not_a_missing_table(
    make_harness: MakeHarness, logs: pytest.LogCaptureFixture
) -> None:
    h = make_harness()
    await h.start()
    healthy = await h.scrape()
    await h.reset_sim_stats()
    await h.set_faults({"api": {"status": 403}})

    await h.run_for(2 * INTERVAL)

    scraped = await h.scrape()
    assert scraped.value("databricks_up") == 0.0
    for name in COLLECTORS:
        assert scraped.statements(name, "permission") == 2, "retried on the interval"
        assert domain_series(scraped, name) == domain_series(healthy, name), "kept to max age"
    readable = scraped.of("databricks_exporter_table_readable")
    assert readable, "the tables were read before"
    assert set(readable.values()) == {1.0}, "no table is blamed"
    assert (await h.sim_stats())["faults_injected"]["api_403"] == 8
    [line] = outage_lines(logs.records)
    assert kv(line)["kind"] == "permission"
    assert "CAN USE on the SQL warehouse" in kv(line)["err"]
    assert not [r for r in events(logs.records) if r.levelno == logging.WARNING]

    await h.set_faults({})
    await h.run_for(INTERVAL)

    assert (await h.scrape()).value("databricks_up") == 1.0
    assert len(restored_lines(logs.records)) == 1
