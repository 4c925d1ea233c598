"""Fault specifications: the JSON shape, the `--fault` flag syntax, counting and merging."""

from __future__ import annotations

import pytest

from databricks_exporter.sim.faults import (
    ApiFault,
    CorruptFault,
    FaultError,
    Faults,
    FaultSpec,
    ResetFault,
    SlowFault,
    TokenFault,
    parse_flag,
)


def flags(*texts: str) -> FaultSpec:
    """A spec built from `--fault` flags."""
    data: dict[str, object] = {}
    for text in texts:
        data = parse_flag(text, data)
    return FaultSpec.from_json(data)


def test_flags_cover_every_fault() -> None:
    spec = flags(
        "token=401,count=2",
        "token-delay=1.5",
        "api=429,retry_after=2,count=3",
        "hidden=system.billing.usage",
        "hidden=System.Query.History",
        "denied=system.lakeflow.jobs",
        "stopped=30",
        "slow=5,count=1",
        "reset=2,scope=all",
        "corrupt=drop_column,column=value",
    )
    assert spec == FaultSpec(
        token=TokenFault(status=401, delay=1.5, count=2),
        api=ApiFault(status=429, retry_after=2, count=3),
        hidden_tables=frozenset({"system.billing.usage", "system.query.history"}),
        denied_tables=frozenset({"system.lakeflow.jobs"}),
        warehouse_stopped=30.0,
        slow_statements=SlowFault(seconds=5.0, count=1),
        reset_connections=ResetFault(count=2, scope="all"),
        corrupt=CorruptFault(mode="drop_column", column="value"),
    )


def test_a_flag_may_be_json() -> None:
    assert flags('{"api": {"status": 503}}') == FaultSpec(api=ApiFault(status=503))


def test_json_round_trips() -> None:
    spec = flags("api=503,count=1", "slow=2", "hidden=system.billing.usage", "stopped=3")
    assert FaultSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"api": {"status": 500}}, "api.status"),
        ({"api": {"status": 429, "count": 0}}, "api.count"),
        ({"token": {}}, "token"),
        ({"corrupt": {"mode": "shuffle"}}, "corrupt.mode"),
        ({"slow_statements": {"seconds": -1}}, "slow_statements.seconds"),
        ({"reset_connections": {"scope": "dns"}}, "reset_connections.scope"),
        ({"hidden_tables": [1]}, "hidden_tables"),
        ({"earthquake": 1}, "unknown fault"),
    ],
)
def test_bad_specs_say_what_is_wrong(data: dict[str, object], message: str) -> None:
    with pytest.raises(FaultError, match=message):
        FaultSpec.from_json(data)


@pytest.mark.parametrize("text", ["api", "volcano=1", "api=429,retry_after", "{not json"])
def test_bad_flags_say_what_is_wrong(text: str) -> None:
    with pytest.raises(FaultError, match="--fault"):
        parse_flag(text)


def test_counted_faults_run_out() -> None:
    faults = Faults(flags("api=503,count=2"))
    assert faults.take("api") == ApiFault(status=503, count=2)
    assert faults.take("api") == ApiFault(status=503, count=1)
    assert faults.take("api") is None


def test_tagged_faults_apply_to_matching_statements_only() -> None:
    faults = Faults()
    faults.set({"corrupt": {"mode": "empty", "tags": {"collector": "jobs"}, "count": 1}})
    assert faults.take("corrupt", {"collector": "billing"}) is None
    assert faults.take("corrupt", {"collector": "jobs", "other": "x"}) is not None
    assert faults.take("corrupt", {"collector": "jobs"}) is None


def test_a_stopped_warehouse_is_consumed_by_one_start() -> None:
    faults = Faults(flags("stopped=5"))
    assert faults.take("warehouse_stopped") == 5.0
    assert faults.take("warehouse_stopped") is None


def test_update_merges_and_null_removes() -> None:
    faults = Faults(flags("api=503", "slow=1"))
    faults.update({"api": None, "hidden_tables": ["system.billing.usage"]})
    assert faults.spec == FaultSpec(
        slow_statements=SlowFault(seconds=1.0), hidden_tables=frozenset({"system.billing.usage"})
    )
