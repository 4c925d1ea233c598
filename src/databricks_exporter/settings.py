"""Settings: one frozen object built and validated at start-up, then passed down."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

COLLECTOR_NAMES = ("billing", "jobs", "pipelines", "queries")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the flag and its env var."""


class Secret:
    """A secret given on the command line or in the environment; never shown."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class FileSecret(Secret):
    """A secret read from a file each time it is needed, so rotating the file takes effect."""

    def __init__(self, path: Path) -> None:
        super().__init__("")
        self.path = path

    def reveal(self) -> str:
        return self.path.read_text(encoding="utf-8").strip()

    def __repr__(self) -> str:
        return f"FileSecret({str(self.path)!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Workspace:
    """Where the warehouse is and who we are."""

    host: str  # URL with scheme and no path, e.g. https://dbc-1.cloud.databricks.com
    warehouse_id: str
    client_id: str
    client_secret: Secret = field(repr=False)

    @property
    def warehouse_http_path(self) -> str:
        """The warehouse's HTTP path as the UI shows it."""
        return f"/sql/1.0/warehouses/{self.warehouse_id}"


@dataclass(frozen=True)
class Windows:
    """Lookbacks and thresholds of METRICS.md, all in seconds."""

    billing_lookback: float = 30 * 86400
    price_change_lookback: float = 90 * 86400
    jobs_lookback: float = 24 * 3600
    pipelines_lookback: float = 24 * 3600
    pipelines_freshness_horizon: float = 7 * 86400
    queries_lookback: float = 3600
    sla_threshold: float = 3600
    #: Extra history scanned before a run window so runs that started earlier get their full
    #: duration (METRICS.md "Runs, not rows").
    run_history: float = 24 * 3600


@dataclass(frozen=True)
class CollectorSettings:
    """One collector's switch and schedule."""

    name: str
    enabled: bool
    interval: float
    max_age: float


DEFAULT_INTERVALS = {"billing": 3600.0, "jobs": 300.0, "pipelines": 300.0, "queries": 300.0}

#: Labels `--collector.billing.tag-label` may not take: the DBU and cost metrics' own.
BILLING_LABELS = ("workspace_id", "sku_name", "usage_date", "billing_origin_product")
MAX_TAG_LABELS = 5
MAX_TOP_K = 1000
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class TagLabel:
    """A billing label taken from `custom_tags`: the label's name and the tag key it reads."""

    label: str
    key: str


@dataclass(frozen=True)
class Drilldown:
    """Opt-in per-entity labels and cost attribution (docs/drilldown.md); all off by default."""

    jobs_by_job: bool = False
    jobs_by_task: bool = False
    pipelines_by_pipeline: bool = False
    queries_by_warehouse: bool = False
    billing_by_job: bool = False
    billing_by_product: bool = False
    billing_tags: tuple[TagLabel, ...] = ()
    #: Entities kept per workspace; the rest are folded into one `other` series.
    top_k: int = 20
    #: How often the latest entity names are read (one small statement per kind).
    names_interval: float = 3600.0

    @property
    def billing_attributed(self) -> bool:
        """Whether the billing collector needs its attributed statement."""
        return self.billing_by_job or self.billing_by_product or bool(self.billing_tags)

    @property
    def name_kinds(self) -> tuple[str, ...]:
        """The kinds of entity whose names some enabled drill-down shows."""
        wanted = {
            "jobs": self.jobs_by_job or self.billing_by_job,
            "pipelines": self.pipelines_by_pipeline,
            "warehouses": self.queries_by_warehouse,
        }
        return tuple(kind for kind, on in wanted.items() if on)


def names_collector(kind: str) -> str:
    """The scheduler name of the runner that reads the names of `kind` (`job_names`, ...)."""
    return f"{kind.removesuffix('s')}_names"


def parse_tag_labels(values: list[str]) -> tuple[TagLabel, ...]:
    """`LABEL` or `LABEL=TAG_KEY` items into tag labels; raises ValueError on a bad one."""
    found: list[TagLabel] = []
    for value in values:
        label, sep, key = (part.strip() for part in value.partition("="))
        key = key if sep else label
        if not _LABEL_NAME.match(label) or label.startswith("__"):
            raise ValueError(
                f"{label!r} is not a usable label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting "
                "with __); give LABEL=TAG_KEY for a tag key that is not one"
            )
        if label in BILLING_LABELS:
            raise ValueError(f"{label!r} is already a label of the billing metrics")
        if not key:
            raise ValueError(f"{value!r} has an empty tag key")
        if label in (t.label for t in found):
            raise ValueError(f"label {label!r} is given twice")
        found.append(TagLabel(label, key))
    if len(found) > MAX_TAG_LABELS:
        raise ValueError(f"at most {MAX_TAG_LABELS} tag labels (each multiplies the series)")
    return tuple(found)


def default_collectors() -> tuple[CollectorSettings, ...]:
    """Every collector enabled at its default interval; data withdrawn after three intervals."""
    return tuple(
        CollectorSettings(name, True, DEFAULT_INTERVALS[name], 3 * DEFAULT_INTERVALS[name])
        for name in COLLECTOR_NAMES
    )


@dataclass(frozen=True)
class Settings:
    """Everything the exporter was told at start-up."""

    workspace: Workspace | None
    listen_addresses: tuple[str, ...] = (":9976",)
    web_config_file: Path | None = None
    telemetry_path: str = "/metrics"
    windows: Windows = field(default_factory=Windows)
    collectors: tuple[CollectorSettings, ...] = field(default_factory=default_collectors)
    statement_timeout: float = 300.0
    table_probe_every: int = 2
    idle_pause: float = 1800.0
    log_level: str = "info"
    log_format: str = "logfmt"
    demo: bool = False
    drilldown: Drilldown = field(default_factory=Drilldown)

    def collector(self, name: str) -> CollectorSettings:
        """The settings of the collector (or names runner) called `name`."""
        for collector in (*self.collectors, *self.names_runners):
            if collector.name == name:
                return collector
        raise KeyError(name)

    @property
    def names_runners(self) -> tuple[CollectorSettings, ...]:
        """The runners that read entity names for the drill-downs; none when all are off."""
        interval = self.drilldown.names_interval
        return tuple(
            CollectorSettings(names_collector(kind), True, interval, 3 * interval)
            for kind in self.drilldown.name_kinds
        )

    @property
    def enabled_collectors(self) -> tuple[CollectorSettings, ...]:
        """Collectors that are switched on."""
        return tuple(c for c in self.collectors if c.enabled)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "y": 365 * 86400.0,
}


def parse_duration(text: str) -> float:
    """Parse a Prometheus-style duration (`90m`, `24h`, `1h30m`, `30d`) into seconds."""
    text = text.strip()
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise ValueError(f"{text!r} is not a duration (examples: 90s, 15m, 24h, 30d, 1h30m)")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not text:
        raise ValueError("empty duration (examples: 90s, 15m, 24h, 30d)")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds the way `parse_duration` reads them (`1h30m`, `30d`, `90s`)."""
    if seconds <= 0:
        return "0s"
    parts: list[str] = []
    remaining = round(seconds)
    units: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    if remaining < 2 * 86400:  # "24h" reads better than "1d"
        units = units[1:]
    for unit, size in units:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or f"{seconds}s"


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) stays on this machine."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_host(value: str) -> tuple[str, list[str]]:
    """Turn `--server-hostname` into a base URL; returns it and any warnings to log.

    A bare host means https. An `https://` prefix is tolerated with a warning. `http://` is
    accepted only for loopback hosts (the simulated workspace). Paths and other schemes are
    refused.
    """
    warnings: list[str] = []
    raw = value.strip()
    if not raw:
        raise ValueError("is empty")
    if "://" not in raw:
        raw_url = "https://" + raw
    else:
        raw_url = raw
        if raw.lower().startswith("https://"):
            warnings.append(
                "--server-hostname should be the bare host name; the https:// prefix was removed"
            )
    parts = urlsplit(raw_url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValueError(f"scheme {parts.scheme!r} is not supported; give the bare host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"{value!r} has a path or query; give only the host name "
            "(e.g. dbc-abc123-def456.cloud.databricks.com)"
        )
    if parts.username or parts.password:
        raise ValueError("must not contain credentials; use --client-id and --client-secret")
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError as error:
        raise ValueError(f"{value!r} has an invalid port") from error
    if not hostname:
        raise ValueError(f"{value!r} has no host name")
    if scheme == "http" and not is_loopback(hostname):
        raise ValueError(
            "http:// is only accepted for a loopback host (the simulated workspace); "
            "Databricks workspaces are reached over https"
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}", warnings


_WAREHOUSE_PATH = re.compile(r"^/sql/1\.0/(?:warehouses|endpoints)/([A-Za-z0-9_-]+)/?$")


def parse_warehouse_path(value: str) -> str:
    """Return the warehouse id of a `/sql/1.0/warehouses/<id>` HTTP path."""
    value = value.strip()
    match = _WAREHOUSE_PATH.match(value)
    if match:
        return match.group(1)
    if value.startswith("/sql/protocolv1/"):
        raise ValueError(
            f"{value!r} is the HTTP path of an all-purpose cluster; the exporter runs statements "
            "through the Statement Execution API, which needs a SQL warehouse "
            "(its path looks like /sql/1.0/warehouses/<id>)"
        )
    raise ValueError(
        f"{value!r} is not a SQL warehouse HTTP path; expected /sql/1.0/warehouses/<id> "
        "(SQL Warehouses > your warehouse > Connection details)"
    )


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split `:9976`, `host:9976` or `[::1]:9976` into host ('' = all interfaces) and port."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise ValueError(f"{value!r} is not host:port (IPv6 as [::1]:9976)")
        host, port_text = value[1:end], value[end + 2 :]
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ValueError(f"{value!r} is not host:port (for example :9976 or 127.0.0.1:9976)")
        if ":" in host:
            raise ValueError(f"{value!r}: write IPv6 addresses in brackets, as [::1]:9976")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r} has no valid port (0-65535)")
    return host, int(port_text)
