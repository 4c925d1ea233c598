"""Command line: the seed's flags, an environment-variable twin for each, validation."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from databricks_exporter import __version__, logs
from databricks_exporter.settings import (
    COLLECTOR_NAMES,
    DEFAULT_INTERVALS,
    MAX_TOP_K,
    CollectorSettings,
    ConfigError,
    Drilldown,
    FileSecret,
    Secret,
    Settings,
    Windows,
    Workspace,
    format_duration,
    normalize_host,
    parse_duration,
    parse_listen_address,
    parse_tag_labels,
    parse_warehouse_path,
)

ENV_PREFIX = "DATABRICKS_EXPORTER_"
#: The demo listens on loopback only unless told otherwise.
DEMO_LISTEN_ADDRESS = "127.0.0.1:9976"
PROG = "databricks-exporter"


@dataclass(frozen=True)
class Option:
    """One flag: its name, env twin, default and help."""

    flag: str
    help: str
    default: str | None = None
    metavar: str | None = None
    repeatable: bool = False
    boolean: bool = False
    secret: bool = False

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace(".", "_").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.upper()


def _windows_options() -> list[Option]:
    w = Windows()
    return [
        Option(
            "--billing-lookback",
            "Window of the billing metrics (usage_date).",
            format_duration(w.billing_lookback),
        ),
        Option(
            "--price-change-lookback",
            "Window of databricks_price_change_events.",
            format_duration(w.price_change_lookback),
        ),
        Option(
            "--jobs-lookback",
            "Window of the job and task metrics.",
            format_duration(w.jobs_lookback),
        ),
        Option(
            "--pipelines-lookback",
            "Window of the pipeline metrics.",
            format_duration(w.pipelines_lookback),
        ),
        Option(
            "--pipelines-freshness-horizon",
            "How far back databricks_pipeline_freshness_lag_seconds looks for a completed update.",
            format_duration(w.pipelines_freshness_horizon),
        ),
        Option(
            "--queries-lookback",
            "Window of the SQL query metrics.",
            format_duration(w.queries_lookback),
        ),
        Option(
            "--run-history",
            "Extra history scanned before the job and pipeline windows so long runs get their "
            "full duration.",
            format_duration(w.run_history),
        ),
        Option(
            "--sla-threshold",
            "A finished job run longer than this counts in databricks_job_sla_miss_total "
            "(a duration, or plain seconds).",
            "3600s",
        ),
    ]


def _collector_options() -> list[Option]:
    options: list[Option] = []
    for name in COLLECTOR_NAMES:
        options += [
            Option(
                f"--collector.{name}",
                f"Enable the {name} collector (--no-collector.{name} to disable).",
                "true",
                boolean=True,
            ),
            Option(
                f"--collector.{name}.interval",
                f"How often the {name} collector refreshes.",
                format_duration(DEFAULT_INTERVALS[name]),
            ),
            Option(
                f"--collector.{name}.max-age",
                f"Withdraw the {name} series when they are older than this "
                "(default: three refresh intervals).",
                None,
                "DURATION",
            ),
        ]
    return options


def _switch(flag: str, help_text: str) -> Option:
    return Option(flag, help_text, "false", boolean=True)


def _drilldown_options() -> list[Option]:
    d = Drilldown()
    other = "the top --drilldown.top-k per workspace, the others as other"
    return [
        _switch(
            "--collector.jobs.by-job",
            f"Add job_id and job_name to the job metrics ({other}).",
        ),
        _switch(
            "--collector.jobs.by-task",
            "Also add task_key to databricks_task_retries_total (needs --collector.jobs.by-job).",
        ),
        _switch(
            "--collector.pipelines.by-pipeline",
            f"Add pipeline_id and pipeline_name to the pipeline metrics ({other}).",
        ),
        _switch(
            "--collector.queries.by-warehouse",
            f"Add warehouse_id and warehouse_name to the query metrics ({other}).",
        ),
        _switch(
            "--collector.billing.by-job",
            f"Export databricks_billing_job_cost_usd, the list cost per job ({other}).",
        ),
        _switch(
            "--collector.billing.by-product",
            "Add billing_origin_product to the DBU and cost metrics.",
        ),
        Option(
            "--collector.billing.tag-label",
            "Add a label from a custom_tags key to the DBU and cost metrics: LABEL (the tag key "
            "of that name) or LABEL=TAG_KEY; a missing tag is unknown. Repeatable, up to 5; "
            "the env var takes a comma-separated list.",
            None,
            "LABEL[=TAG_KEY]",
            repeatable=True,
        ),
        Option(
            "--drilldown.top-k",
            "Entities (jobs, pipelines, warehouses, tag value combinations) each drill-down "
            "keeps per workspace; the others are folded into one series labelled other.",
            str(d.top_k),
            "K",
        ),
        Option(
            "--drilldown.names-interval",
            "How often the job, pipeline and warehouse names of the drill-downs are read.",
            format_duration(d.names_interval),
        ),
    ]


OPTIONS: tuple[Option, ...] = (
    Option(
        "--web.listen-address",
        "Address to expose metrics and the web interface on. "
        "Repeatable; the env var takes a comma-separated list.",
        ":9976",
        repeatable=True,
    ),
    Option(
        "--web.config.file",
        "Path to a web configuration file (TLS, basic auth, headers) in "
        "the exporter-toolkit format.",
        "",
        "PATH",
    ),
    Option("--web.telemetry-path", "Path under which to expose metrics.", "/metrics", "PATH"),
    Option(
        "--server-hostname",
        "The Databricks workspace host name (e.g. dbc-abc123-def456.cloud.databricks.com).",
        None,
        "HOSTNAME",
    ),
    Option(
        "--warehouse-http-path",
        "The HTTP path of the SQL warehouse (e.g. /sql/1.0/warehouses/abc123def456).",
        None,
        "PATH",
    ),
    Option(
        "--client-id",
        "OAuth client id (application id) of the service principal.",
        None,
        "CLIENT-ID",
    ),
    Option(
        "--client-secret",
        "OAuth client secret of the service principal. Prefer "
        "--client-secret-file: arguments are visible in the process list.",
        None,
        "CLIENT-SECRET",
        secret=True,
    ),
    Option(
        "--client-secret-file",
        "File holding the OAuth client secret; re-read when "
        "authentication fails, so a rotated secret is picked up without a restart.",
        None,
        "PATH",
    ),
    Option(
        "--statement-timeout",
        "Longest a collector's statement may take, including a "
        "warehouse cold start; it is cancelled on the warehouse after that.",
        "5m",
    ),
    Option(
        "--table-probe-every",
        "When a table is not readable, probe it again every N refresh intervals of its collector.",
        "2",
        "N",
    ),
    Option(
        "--idle-pause",
        "Stop refreshing when /metrics has not been scraped for this long, "
        "so the warehouse can auto-stop (0s disables).",
        "30m",
    ),
    *_windows_options(),
    *_collector_options(),
    *_drilldown_options(),
    Option(
        "--log.level",
        "Only log messages with the given severity or above. One of: [debug, info, warn, error]",
        "info",
        "LEVEL",
    ),
    Option(
        "--log.format", "Output format of log messages. One of: [logfmt, json]", "logfmt", "FORMAT"
    ),
    Option(
        "--demo",
        "Start the built-in simulated Databricks workspace and export its metrics; "
        "no workspace flags needed.",
        "false",
        boolean=True,
    ),
)

BY_DEST = {option.dest: option for option in OPTIONS}


def _help_text(option: Option) -> str:
    default = (
        "" if option.default in (None, "") or option.secret else f" (default: {option.default})"
    )
    return f"{option.help}{default} [env {option.env}]"


def _metavar(option: Option) -> str:
    if option.repeatable:
        return "ADDRESS"
    if option.default and option.default[-1] in "smhdwy" and option.default[0].isdigit():
        return "DURATION"
    return "VALUE"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with each flag's env var named in its help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s [flags]",
        description="Prometheus exporter for Databricks System Tables.",
        epilog="Flags win over environment variables; environment variables win over defaults.",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=40, width=100),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    for option in OPTIONS:
        if option.boolean:
            parser.add_argument(
                option.flag,
                dest=option.dest,
                default=None,
                help=_help_text(option),
                action=argparse.BooleanOptionalAction,
            )
        else:
            parser.add_argument(
                option.flag,
                dest=option.dest,
                default=None,
                metavar=option.metavar or _metavar(option),
                help=_help_text(option),
                action="append" if option.repeatable else "store",
            )
    return parser


class _Values:
    """Resolves each option from flag, then env var, then default; remembers where from."""

    def __init__(self, parsed: argparse.Namespace, env: Mapping[str, str]) -> None:
        self._parsed, self._env = parsed, env

    def raw(self, dest: str) -> Any:
        option = BY_DEST[dest]
        value = getattr(self._parsed, dest)
        if value is not None:
            return value
        text = self._env.get(option.env)
        if text is None or text == "":
            return [option.default] if option.repeatable and option.default else option.default
        if option.repeatable:
            return [part for part in (p.strip() for p in text.split(",")) if part]
        if option.boolean:
            return _parse_bool(text, option)
        return text

    def is_set(self, dest: str) -> bool:
        """Whether the flag or its env var was given."""
        return getattr(self._parsed, dest) is not None or bool(self._env.get(BY_DEST[dest].env))

    def convert(self, dest: str, parse: Callable[[Any], Any]) -> Any:
        value = self.raw(dest)
        try:
            return None if value is None else parse(value)
        except (ValueError, OSError) as error:
            raise _config_error(dest, str(error)) from None


def _parse_bool(text: str, option: Option) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _config_error(option.dest, f"{text!r} is not a boolean (true or false)")


def _config_error(dest: str, problem: str) -> ConfigError:
    option = BY_DEST[dest]
    return ConfigError(f"{option.flag} [env {option.env}]: {problem}")


def _positive_duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be a positive duration")
    return seconds


def _non_negative_duration(text: str) -> float:
    return parse_duration(text)


def _seconds_or_duration(text: str) -> float:
    stripped = text.strip()
    seconds = float(stripped) if stripped.replace(".", "", 1).isdigit() else parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be positive")
    return seconds


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} must be a whole number of at least 1")
    return int(text)


def _one_of(choices: Sequence[str]) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of: {', '.join(choices)}")
        return text

    return check


def _telemetry_path(text: str) -> str:
    if not text.startswith("/") or text in ("/", "/-/healthy", "/-/ready") or " " in text:
        raise ValueError(
            f"{text!r} must be a path starting with / other than /, /-/healthy, /-/ready"
        )
    return text


def _listen_addresses(values: list[str]) -> tuple[str, ...]:
    for value in values:
        parse_listen_address(value)
    return tuple(dict.fromkeys(values))


def _readable_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"{text!r} does not exist or is not a file")
    path.read_bytes()
    return path


def _windows(values: _Values) -> Windows:
    d = _positive_duration
    return Windows(
        billing_lookback=values.convert("billing_lookback", d),
        price_change_lookback=values.convert("price_change_lookback", d),
        jobs_lookback=values.convert("jobs_lookback", d),
        pipelines_lookback=values.convert("pipelines_lookback", d),
        pipelines_freshness_horizon=values.convert("pipelines_freshness_horizon", d),
        queries_lookback=values.convert("queries_lookback", d),
        sla_threshold=values.convert("sla_threshold", _seconds_or_duration),
        run_history=values.convert("run_history", d),
    )


def _collectors(values: _Values) -> tuple[CollectorSettings, ...]:
    collectors = []
    for name in COLLECTOR_NAMES:
        interval = values.convert(f"collector_{name}_interval", _positive_duration)
        max_age = values.convert(f"collector_{name}_max_age", _positive_duration)
        if max_age is not None and max_age < interval:
            raise _config_error(
                f"collector_{name}_max_age", "must be at least the collector's refresh interval"
            )
        enabled = values.raw(f"collector_{name}")
        collectors.append(
            CollectorSettings(
                name,
                enabled in (True, "true"),
                interval,
                max_age if max_age is not None else 3 * interval,
            )
        )
    if not any(c.enabled for c in collectors):
        raise ConfigError("every collector is disabled; enable at least one (--collector.<name>)")
    return tuple(collectors)


def _top_k(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_TOP_K:
        raise ValueError(f"{text!r} must be a whole number from 1 to {MAX_TOP_K}")
    return int(text)


#: Each drill-down switch and the collector it needs enabled.
_NEEDS = {
    "collector_jobs_by_job": "jobs",
    "collector_jobs_by_task": "jobs",
    "collector_pipelines_by_pipeline": "pipelines",
    "collector_queries_by_warehouse": "queries",
    "collector_billing_by_job": "billing",
    "collector_billing_by_product": "billing",
    "collector_billing_tag_label": "billing",
}


def _drilldown(values: _Values, collectors: tuple[CollectorSettings, ...]) -> Drilldown:
    on = {dest: values.raw(dest) in (True, "true") for dest in _NEEDS}
    tags = values.convert("collector_billing_tag_label", parse_tag_labels) or ()
    on["collector_billing_tag_label"] = bool(tags)
    enabled = {c.name for c in collectors if c.enabled}
    for dest, collector in _NEEDS.items():
        if on[dest] and collector not in enabled:
            raise _config_error(dest, f"the {collector} collector is disabled")
    if on["collector_jobs_by_task"] and not on["collector_jobs_by_job"]:
        raise _config_error(
            "collector_jobs_by_task",
            "needs --collector.jobs.by-job (task keys are only unique within a job)",
        )
    return Drilldown(
        jobs_by_job=on["collector_jobs_by_job"],
        jobs_by_task=on["collector_jobs_by_task"],
        pipelines_by_pipeline=on["collector_pipelines_by_pipeline"],
        queries_by_warehouse=on["collector_queries_by_warehouse"],
        billing_by_job=on["collector_billing_by_job"],
        billing_by_product=on["collector_billing_by_product"],
        billing_tags=tags,
        top_k=values.convert("drilldown_top_k", _top_k),
        names_interval=values.convert("drilldown_names_interval", _positive_duration),
    )


def _secret(values: _Values) -> Secret | None:
    inline, path = values.raw("client_secret"), values.raw("client_secret_file")
    if inline and path:
        raise _config_error(
            "client_secret_file", "give either --client-secret or --client-secret-file, not both"
        )
    if path:
        secret_file = values.convert("client_secret_file", _readable_file)
        secret: Secret = FileSecret(secret_file)
        if not secret.reveal():
            raise _config_error("client_secret_file", f"{path!r} is empty")
        return secret
    return Secret(inline) if inline else None


def _workspace(values: _Values, warnings: list[str]) -> Workspace:
    def required(dest: str) -> str:
        value = values.raw(dest)
        if not value:
            raise _config_error(
                dest,
                "is required (or run with --demo to try the exporter "
                "against the built-in simulated workspace)",
            )
        return str(value)

    host_text = required("server_hostname")
    try:
        host, host_warnings = normalize_host(host_text)
    except ValueError as error:
        raise _config_error("server_hostname", str(error)) from None
    warnings.extend(host_warnings)
    warehouse_id = values.convert("warehouse_http_path", parse_warehouse_path)
    if warehouse_id is None:
        required("warehouse_http_path")
    client_id = required("client_id")
    secret = _secret(values)
    if secret is None:
        raise _config_error("client_secret", "is required (or give --client-secret-file)")
    return Workspace(
        host=host, warehouse_id=warehouse_id, client_id=client_id, client_secret=secret
    )


def parse_settings(argv: Sequence[str], env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Build validated settings from arguments and environment; also returns warnings to log."""
    parsed = build_parser().parse_args(list(argv))
    values = _Values(parsed, env)
    warnings: list[str] = []
    demo = values.raw("demo") in (True, "true")
    listen = values.convert("web_listen_address", _listen_addresses)
    if demo and not values.is_set("web_listen_address"):
        listen = (DEMO_LISTEN_ADDRESS,)
    collectors = _collectors(values)
    settings = Settings(
        workspace=None if demo else _workspace(values, warnings),
        listen_addresses=listen,
        web_config_file=values.convert(
            "web_config_file", lambda t: _readable_file(t) if t else None
        ),
        telemetry_path=values.convert("web_telemetry_path", _telemetry_path),
        windows=_windows(values),
        collectors=collectors,
        statement_timeout=values.convert("statement_timeout", _positive_duration),
        table_probe_every=values.convert("table_probe_every", _positive_int),
        idle_pause=values.convert("idle_pause", _non_negative_duration),
        log_level=values.convert("log_level", _one_of(tuple(logs.LEVELS))),
        log_format=values.convert("log_format", _one_of(logs.FORMATS)),
        demo=demo,
        drilldown=_drilldown(values, collectors),
    )
    return settings, warnings


def _register_secrets(settings: Settings) -> None:
    if settings.workspace is not None:
        secret = settings.workspace.client_secret
        logs.register_secret(secret.reveal())


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of `databricks-exporter`."""
    try:
        settings, warnings = parse_settings(
            sys.argv[1:] if argv is None else argv, os.environ if env is None else env
        )
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    _register_secrets(settings)
    log = logs.get_logger("main")
    for warning in warnings:
        log.warning(warning)
    from databricks_exporter.app import run  # noqa: PLC0415  (keeps --help fast)

    return run(settings)


def with_workspace(settings: Settings, workspace: Workspace) -> Settings:
    """Settings pointed at `workspace` (used by --demo once the simulator listens)."""
    return replace(settings, workspace=workspace)
