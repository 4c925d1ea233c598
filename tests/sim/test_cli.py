"""`databricks-sim`: one ready line, a working workspace, clean exit, clear usage errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from databricks.sdk.service.sql import StatementState

from databricks_exporter.sim.cli import main
from databricks_exporter.sim.faults import ApiFault

from .helpers import rows, state

SIM = [
    sys.executable,
    "-c",
    "from databricks_exporter.sim.cli import main; raise SystemExit(main())",
]


def test_the_command_prints_one_line_serves_and_exits_on_sigterm(tmp_path: Path) -> None:
    from databricks.sdk import WorkspaceClient  # noqa: PLC0415

    process = subprocess.Popen(
        [
            *SIM,
            "--listen",
            "127.0.0.1:0",
            "--client-secret",
            "s3cret-value",
            "--fault",
            "slow=0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DATABRICKS_SIM_WAREHOUSE_ID": "wh42"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if not line:
            pytest.fail(f"no ready line; stderr: {process.communicate(timeout=30)[1]}")
        assert line[:3] == ["databricks-sim", "ready:", "databricks-exporter"]
        flags = dict(zip(line[3::2], line[4::2], strict=True))
        assert flags["--warehouse-http-path"] == "/sql/1.0/warehouses/wh42"
        assert flags["--client-secret"] == "s3cret-value"
        client = WorkspaceClient(
            host=flags["--server-hostname"],
            client_id=flags["--client-id"],
            client_secret=flags["--client-secret"],
        )
        response = client.statement_execution.execute_statement(
            statement="SELECT count(*) FROM system.billing.usage",
            warehouse_id="wh42",
            wait_timeout="30s",
        )
        assert state(response) == StatementState.SUCCEEDED
        assert int(rows(response)[0][0] or 0) > 0
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out == ""
    assert "s3cret-value" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--listen", "0.0.0.0:8080"], "--allow-remote"),
        (["--listen", "nonsense"], "--listen"),
        (["--fault", "api=418"], "--fault"),
        (["--scale", "huge"], "--scale"),
        (["--now", "yesterday"], "--now"),
        (["--token-ttl", "0"], "--token-ttl"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, env={}) == 2
    assert message in capsys.readouterr().err


def test_environment_twins_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from databricks_exporter.sim import cli  # noqa: PLC0415

    args = cli.build_parser().parse_args([])
    kwargs = cli.workspace_kwargs(
        args,
        {
            "DATABRICKS_SIM_SEED": "7",
            "DATABRICKS_SIM_NOW": "2026-11-25T12:00:00Z",
            "DATABRICKS_SIM_FAULT": "api=503,count=1;hidden=system.billing.usage",
        },
    )
    assert kwargs["seed"] == 7
    assert kwargs["now"].isoformat() == "2026-11-25T12:00:00+00:00"
    assert kwargs["faults"].api == ApiFault(status=503, count=1)
    assert kwargs["faults"].hidden_tables == frozenset({"system.billing.usage"})


def test_help_shows_every_environment_twin(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"], env={})
    text = capsys.readouterr().out
    for twin in ("DATABRICKS_SIM_LISTEN", "DATABRICKS_SIM_FAULT", "DATABRICKS_SIM_CLIENT_SECRET"):
        assert twin in text
