"""Command line and environment: the seed's flags, env twins, validation errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from databricks_exporter import __version__
from databricks_exporter.cli import OPTIONS, build_parser, main, parse_settings
from databricks_exporter.settings import ConfigError, Drilldown, FileSecret, Secret, TagLabel

REQUIRED = [
    "--server-hostname=dbc-abc123-def456.cloud.databricks.com",
    "--warehouse-http-path=/sql/1.0/warehouses/abc123def456",
    "--client-id=4a8adace-cdf5-4489-b9c2-2b6f9dd7682f",
    "--client-secret=s3cr3t-value",
]
SEED_ENV = {
    "DATABRICKS_EXPORTER_SERVER_HOSTNAME": "dbc-abc123-def456.cloud.databricks.com",
    "DATABRICKS_EXPORTER_WAREHOUSE_HTTP_PATH": "/sql/1.0/warehouses/abc123def456",
    "DATABRICKS_EXPORTER_CLIENT_ID": "4a8adace-cdf5-4489-b9c2-2b6f9dd7682f",
    "DATABRICKS_EXPORTER_CLIENT_SECRET": "env-secret",
    "DATABRICKS_EXPORTER_WEB_TELEMETRY_PATH": "/custom",
}


def error_of(argv: list[str], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(argv, env or {})
    return str(caught.value)


def test_seed_flags_give_the_seed_defaults() -> None:
    settings, warnings = parse_settings(REQUIRED, {})
    assert warnings == []
    assert settings.listen_addresses == (":9976",)
    assert settings.telemetry_path == "/metrics"
    assert settings.web_config_file is None
    assert settings.log_level == "info"
    assert settings.log_format == "logfmt"
    workspace = settings.workspace
    assert workspace is not None
    assert workspace.host == "https://dbc-abc123-def456.cloud.databricks.com"
    assert workspace.warehouse_id == "abc123def456"
    assert workspace.client_id == "4a8adace-cdf5-4489-b9c2-2b6f9dd7682f"
    assert workspace.client_secret.reveal() == "s3cr3t-value"


def test_defaults_of_windows_and_collectors() -> None:
    settings, _ = parse_settings(REQUIRED, {})
    w = settings.windows
    assert (w.billing_lookback, w.price_change_lookback) == (30 * 86400, 90 * 86400)
    assert (w.jobs_lookback, w.pipelines_lookback, w.queries_lookback) == (86400, 86400, 3600)
    assert (w.sla_threshold, w.pipelines_freshness_horizon) == (3600, 7 * 86400)
    intervals = {c.name: (c.enabled, c.interval, c.max_age) for c in settings.collectors}
    assert intervals == {
        "billing": (True, 3600, 10800),
        "jobs": (True, 300, 900),
        "pipelines": (True, 300, 900),
        "queries": (True, 300, 900),
    }
    assert settings.statement_timeout == 300
    assert settings.idle_pause == 1800
    assert settings.table_probe_every == 2


def test_seed_environment_variables() -> None:
    settings, _ = parse_settings([], SEED_ENV)
    assert settings.workspace is not None
    assert settings.workspace.client_secret.reveal() == "env-secret"
    assert settings.workspace.warehouse_id == "abc123def456"
    assert settings.telemetry_path == "/custom"


def test_flags_win_over_environment() -> None:
    settings, _ = parse_settings(["--client-id=from-flag"], SEED_ENV)
    assert settings.workspace is not None
    assert settings.workspace.client_id == "from-flag"


def test_every_flag_has_an_env_twin_named_in_help() -> None:
    text = " ".join(build_parser().format_help().split())
    for option in OPTIONS:
        assert option.flag in text
        assert f"[env {option.env}]" in text
    assert "DATABRICKS_EXPORTER_SERVER_HOSTNAME" in text


def test_repeatable_listen_address_flag_and_env_list() -> None:
    argv = [*REQUIRED, "--web.listen-address=127.0.0.1:1", "--web.listen-address=[::1]:2"]
    settings, _ = parse_settings(argv, {})
    assert settings.listen_addresses == ("127.0.0.1:1", "[::1]:2")
    env = {"DATABRICKS_EXPORTER_WEB_LISTEN_ADDRESS": ":9000, 127.0.0.1:9001"}
    settings, _ = parse_settings(REQUIRED, env)
    assert settings.listen_addresses == (":9000", "127.0.0.1:9001")


def test_added_flags_parse_durations_and_switches() -> None:
    argv = [
        *REQUIRED,
        "--jobs-lookback=90m",
        "--billing-lookback=7d",
        "--sla-threshold=7200",
        "--collector.billing.interval=2h",
        "--no-collector.pipelines",
        "--collector.queries.max-age=1h",
        "--statement-timeout=1h30m",
    ]
    settings, _ = parse_settings(argv, {"DATABRICKS_EXPORTER_QUERIES_LOOKBACK": "15m"})
    assert settings.windows.jobs_lookback == 5400
    assert settings.windows.billing_lookback == 7 * 86400
    assert settings.windows.sla_threshold == 7200
    assert settings.windows.queries_lookback == 900
    assert settings.collector("billing").interval == 7200
    assert settings.collector("billing").max_age == 21600
    assert not settings.collector("pipelines").enabled
    assert settings.collector("queries").max_age == 3600
    assert [c.name for c in settings.enabled_collectors] == ["billing", "jobs", "queries"]
    assert settings.statement_timeout == 5400


def test_collector_switch_from_environment() -> None:
    env = {"DATABRICKS_EXPORTER_COLLECTOR_BILLING": "false"}
    settings, _ = parse_settings(REQUIRED, env)
    assert not settings.collector("billing").enabled
    message = error_of(REQUIRED, {"DATABRICKS_EXPORTER_COLLECTOR_BILLING": "maybe"})
    assert message == (
        "--collector.billing [env DATABRICKS_EXPORTER_COLLECTOR_BILLING]: "
        "'maybe' is not a boolean (true or false)"
    )


def test_https_prefix_is_stripped_with_a_warning() -> None:
    argv = [*REQUIRED, "--server-hostname=https://dbc-1.cloud.databricks.com/"]
    settings, warnings = parse_settings(argv, {})
    assert settings.workspace is not None
    assert settings.workspace.host == "https://dbc-1.cloud.databricks.com"
    assert warnings == [
        "--server-hostname should be the bare host name; the https:// prefix was removed"
    ]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1234", "http://localhost:1234"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("adb-123.4.azuredatabricks.net:8443", "https://adb-123.4.azuredatabricks.net:8443"),
    ],
)
def test_accepted_hosts(host: str, expected: str) -> None:
    settings, _ = parse_settings([*REQUIRED, f"--server-hostname={host}"], {})
    assert settings.workspace is not None
    assert settings.workspace.host == expected


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        (
            "http://dbc-1.cloud.databricks.com",
            "http:// is only accepted for a loopback host (the simulated workspace); "
            "Databricks workspaces are reached over https",
        ),
        (
            "ftp://dbc-1.cloud.databricks.com",
            "scheme 'ftp' is not supported; give the bare host name",
        ),
        (
            "dbc-1.cloud.databricks.com/sql/1.0",
            "'dbc-1.cloud.databricks.com/sql/1.0' has a path or query; give only the host name "
            "(e.g. dbc-abc123-def456.cloud.databricks.com)",
        ),
        (
            "https://user:pw@dbc-1.cloud.databricks.com",
            "must not contain credentials; use --client-id and --client-secret",
        ),
    ],
)
def test_refused_hosts(host: str, problem: str) -> None:
    message = error_of([*REQUIRED, f"--server-hostname={host}"])
    assert message == f"--server-hostname [env DATABRICKS_EXPORTER_SERVER_HOSTNAME]: {problem}"


def test_cluster_http_path_is_refused_with_an_explanation() -> None:
    path = "/sql/protocolv1/o/1234567890123456/0123-456789-abcdefgh"
    message = error_of([*REQUIRED, f"--warehouse-http-path={path}"])
    assert message.startswith("--warehouse-http-path [env DATABRICKS_EXPORTER_WAREHOUSE_HTTP_PATH]")
    assert "all-purpose cluster" in message
    assert "needs a SQL warehouse" in message


def test_malformed_http_path() -> None:
    message = error_of([*REQUIRED, "--warehouse-http-path=warehouses/abc"])
    assert message == (
        "--warehouse-http-path [env DATABRICKS_EXPORTER_WAREHOUSE_HTTP_PATH]: 'warehouses/abc' "
        "is not a SQL warehouse HTTP path; expected /sql/1.0/warehouses/<id> "
        "(SQL Warehouses > your warehouse > Connection details)"
    )


@pytest.mark.parametrize(
    ("missing", "flag", "env"),
    [
        ("--server-hostname", "--server-hostname", "DATABRICKS_EXPORTER_SERVER_HOSTNAME"),
        (
            "--warehouse-http-path",
            "--warehouse-http-path",
            "DATABRICKS_EXPORTER_WAREHOUSE_HTTP_PATH",
        ),
        ("--client-id", "--client-id", "DATABRICKS_EXPORTER_CLIENT_ID"),
        ("--client-secret", "--client-secret", "DATABRICKS_EXPORTER_CLIENT_SECRET"),
    ],
)
def test_missing_required_values(missing: str, flag: str, env: str) -> None:
    argv = [arg for arg in REQUIRED if not arg.startswith(missing + "=")]
    message = error_of(argv)
    assert message.startswith(f"{flag} [env {env}]: is required")


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("--jobs-lookback", "24", "'24' is not a duration (examples: 90s, 15m, 24h, 30d, 1h30m)"),
        ("--jobs-lookback", "0h", "'0h' must be a positive duration"),
        (
            "--billing-lookback",
            "thirty days",
            "'thirty days' is not a duration (examples: 90s, 15m, 24h, 30d, 1h30m)",
        ),
        (
            "--collector.jobs.interval",
            "-5m",
            "'-5m' is not a duration (examples: 90s, 15m, 24h, 30d, 1h30m)",
        ),
        ("--sla-threshold", "0", "'0' must be positive"),
        ("--log.level", "verbose", "'verbose' is not one of: debug, info, warn, error"),
        ("--log.format", "xml", "'xml' is not one of: logfmt, json"),
        ("--table-probe-every", "0", "'0' must be a whole number of at least 1"),
        (
            "--web.listen-address",
            "9976",
            "'9976' is not host:port (for example :9976 or 127.0.0.1:9976)",
        ),
        ("--web.listen-address", ":99999", "':99999' has no valid port (0-65535)"),
        (
            "--web.listen-address",
            "::1:80",
            "'::1:80': write IPv6 addresses in brackets, as [::1]:9976",
        ),
        (
            "--web.telemetry-path",
            "metrics",
            "'metrics' must be a path starting with / other than /, /-/healthy, /-/ready",
        ),
        (
            "--web.config.file",
            "/nonexistent/web.yml",
            "'/nonexistent/web.yml' does not exist or is not a file",
        ),
    ],
)
def test_bad_values_name_flag_env_and_problem(flag: str, value: str, problem: str) -> None:
    option = next(o for o in OPTIONS if o.flag == flag)
    message = error_of([*REQUIRED, f"{flag}={value}"])
    assert message == f"{flag} [env {option.env}]: {problem}"


def test_max_age_below_interval_is_refused() -> None:
    message = error_of([*REQUIRED, "--collector.jobs.interval=10m", "--collector.jobs.max-age=5m"])
    assert message == (
        "--collector.jobs.max-age [env DATABRICKS_EXPORTER_COLLECTOR_JOBS_MAX_AGE]: "
        "must be at least the collector's refresh interval"
    )


def test_all_collectors_disabled_is_refused() -> None:
    argv = [
        *REQUIRED,
        *(f"--no-collector.{n}" for n in ("billing", "jobs", "pipelines", "queries")),
    ]
    assert "every collector is disabled" in error_of(argv)


def test_client_secret_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    argv = [a for a in REQUIRED if not a.startswith("--client-secret=")]
    settings, _ = parse_settings([*argv, f"--client-secret-file={secret_file}"], {})
    assert settings.workspace is not None
    secret = settings.workspace.client_secret
    assert isinstance(secret, FileSecret)
    assert secret.reveal() == "from-file"
    secret_file.write_text("rotated")
    assert secret.reveal() == "rotated"


def test_client_secret_file_problems(tmp_path: Path) -> None:
    argv = [a for a in REQUIRED if not a.startswith("--client-secret=")]
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert error_of([*argv, f"--client-secret-file={empty}"]) == (
        f"--client-secret-file [env DATABRICKS_EXPORTER_CLIENT_SECRET_FILE]: '{empty}' is empty"
    )
    both = error_of([*REQUIRED, f"--client-secret-file={empty}"])
    assert both == (
        "--client-secret-file [env DATABRICKS_EXPORTER_CLIENT_SECRET_FILE]: give either "
        "--client-secret or --client-secret-file, not both"
    )


def test_secret_is_not_in_reprs() -> None:
    settings, _ = parse_settings(REQUIRED, {})
    assert "s3cr3t-value" not in repr(settings)
    assert repr(Secret("abc")) == "Secret('***')"


def test_demo_needs_no_workspace_and_listens_on_loopback() -> None:
    settings, _ = parse_settings(["--demo"], {})
    assert settings.demo
    assert settings.workspace is None
    assert settings.listen_addresses == ("127.0.0.1:9976",)
    settings, _ = parse_settings(["--demo", "--web.listen-address=:9100"], {})
    assert settings.listen_addresses == (":9100",)


def test_main_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--server-hostname=ftp://x"], {})
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("databricks-exporter: error: --server-hostname")


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"], {})
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"databricks-exporter {__version__}\n"


def test_console_script_fails_fast_without_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "databricks_exporter", "--log.level=loud"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABRICKS_EXPORTER_CLIENT_SECRET": "never-shown"},
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "never-shown" not in completed.stderr
    assert completed.stderr.startswith("databricks-exporter: error: --server-hostname")
    assert completed.stdout == ""


# ----- drill-down and cost attribution -------------------------------------------------------


def test_drilldown_is_off_by_default() -> None:
    settings, _ = parse_settings(REQUIRED, {})
    assert settings.drilldown == Drilldown()
    assert settings.drilldown.name_kinds == ()
    assert settings.names_runners == ()
    assert (settings.drilldown.top_k, settings.drilldown.names_interval) == (20, 3600)


def test_drilldown_flags() -> None:
    argv = [
        *REQUIRED,
        "--collector.jobs.by-job",
        "--collector.jobs.by-task",
        "--collector.pipelines.by-pipeline",
        "--collector.queries.by-warehouse",
        "--collector.billing.by-job",
        "--collector.billing.by-product",
        "--collector.billing.tag-label=team",
        "--collector.billing.tag-label=cost_center=Cost Center",
        "--drilldown.top-k=50",
        "--drilldown.names-interval=6h",
    ]
    settings, _ = parse_settings(argv, {})
    assert settings.drilldown == Drilldown(
        jobs_by_job=True,
        jobs_by_task=True,
        pipelines_by_pipeline=True,
        queries_by_warehouse=True,
        billing_by_job=True,
        billing_by_product=True,
        billing_tags=(TagLabel("team", "team"), TagLabel("cost_center", "Cost Center")),
        top_k=50,
        names_interval=6 * 3600,
    )
    assert [r.name for r in settings.names_runners] == [
        "job_names",
        "pipeline_names",
        "warehouse_names",
    ]
    assert settings.collector("job_names").interval == 6 * 3600


def test_drilldown_environment_variables() -> None:
    env = {
        "DATABRICKS_EXPORTER_COLLECTOR_JOBS_BY_JOB": "true",
        "DATABRICKS_EXPORTER_COLLECTOR_QUERIES_BY_WAREHOUSE": "1",
        "DATABRICKS_EXPORTER_COLLECTOR_BILLING_TAG_LABEL": "team, project",
        "DATABRICKS_EXPORTER_DRILLDOWN_TOP_K": "5",
    }
    settings, _ = parse_settings(REQUIRED, env)
    drilldown = settings.drilldown
    assert (drilldown.jobs_by_job, drilldown.queries_by_warehouse) == (True, True)
    assert drilldown.billing_tags == (TagLabel("team", "team"), TagLabel("project", "project"))
    assert drilldown.top_k == 5
    assert not drilldown.pipelines_by_pipeline
    flagged, _ = parse_settings([*REQUIRED, "--no-collector.jobs.by-job"], env)
    assert not flagged.drilldown.jobs_by_job


@pytest.mark.parametrize(
    ("args", "flag", "problem"),
    [
        (
            ["--collector.billing.tag-label=team-name"],
            "--collector.billing.tag-label",
            "'team-name' is not a usable label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting "
            "with __); give LABEL=TAG_KEY for a tag key that is not one",
        ),
        (
            ["--collector.billing.tag-label=__team"],
            "--collector.billing.tag-label",
            "'__team' is not a usable label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting "
            "with __); give LABEL=TAG_KEY for a tag key that is not one",
        ),
        (
            ["--collector.billing.tag-label=sku_name"],
            "--collector.billing.tag-label",
            "'sku_name' is already a label of the billing metrics",
        ),
        (
            ["--collector.billing.tag-label=billing_origin_product=product"],
            "--collector.billing.tag-label",
            "'billing_origin_product' is already a label of the billing metrics",
        ),
        (
            ["--collector.billing.tag-label=team="],
            "--collector.billing.tag-label",
            "'team=' has an empty tag key",
        ),
        (
            ["--collector.billing.tag-label=team", "--collector.billing.tag-label=team=Team"],
            "--collector.billing.tag-label",
            "label 'team' is given twice",
        ),
        (
            [f"--collector.billing.tag-label=t{n}" for n in range(6)],
            "--collector.billing.tag-label",
            "at most 5 tag labels (each multiplies the series)",
        ),
        (["--drilldown.top-k=0"], "--drilldown.top-k", "'0' must be a whole number from 1 to 1000"),
        (
            ["--drilldown.top-k=1001"],
            "--drilldown.top-k",
            "'1001' must be a whole number from 1 to 1000",
        ),
        (
            ["--drilldown.top-k=ten"],
            "--drilldown.top-k",
            "'ten' must be a whole number from 1 to 1000",
        ),
        (
            ["--drilldown.names-interval=0s"],
            "--drilldown.names-interval",
            "'0s' must be a positive duration",
        ),
        (
            ["--drilldown.names-interval=hourly"],
            "--drilldown.names-interval",
            "'hourly' is not a duration (examples: 90s, 15m, 24h, 30d, 1h30m)",
        ),
        (
            ["--collector.jobs.by-task"],
            "--collector.jobs.by-task",
            "needs --collector.jobs.by-job (task keys are only unique within a job)",
        ),
        (
            ["--no-collector.jobs", "--collector.jobs.by-job"],
            "--collector.jobs.by-job",
            "the jobs collector is disabled",
        ),
        (
            ["--no-collector.pipelines", "--collector.pipelines.by-pipeline"],
            "--collector.pipelines.by-pipeline",
            "the pipelines collector is disabled",
        ),
        (
            ["--no-collector.queries", "--collector.queries.by-warehouse"],
            "--collector.queries.by-warehouse",
            "the queries collector is disabled",
        ),
        (
            ["--no-collector.billing", "--collector.billing.by-job"],
            "--collector.billing.by-job",
            "the billing collector is disabled",
        ),
        (
            ["--no-collector.billing", "--collector.billing.tag-label=team"],
            "--collector.billing.tag-label",
            "the billing collector is disabled",
        ),
    ],
)
def test_bad_drilldown_values(args: list[str], flag: str, problem: str) -> None:
    option = next(o for o in OPTIONS if o.flag == flag)
    assert error_of([*REQUIRED, *args]) == f"{flag} [env {option.env}]: {problem}"


def test_bad_drilldown_switch_in_environment() -> None:
    message = error_of(REQUIRED, {"DATABRICKS_EXPORTER_COLLECTOR_BILLING_BY_PRODUCT": "sure"})
    assert message == (
        "--collector.billing.by-product [env DATABRICKS_EXPORTER_COLLECTOR_BILLING_BY_PRODUCT]: "
        "'sure' is not a boolean (true or false)"
    )
