"""The exporter-toolkit web config file (`--web.config.file`), parsed into a frozen `WebConfig`.

Keys and semantics follow prometheus/exporter-toolkit's docs/web-configuration.md: relative
paths are relative to the file's directory, unknown keys are refused, and every error names the
key (dotted, e.g. `tls_server_config.client_auth_type`). Values are never echoed for keys that
may hold secrets (`basic_auth_users`, `key`).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from databricks_exporter.settings import parse_duration
from databricks_exporter.web import tls
from databricks_exporter.web.errors import WebConfigError

TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")
TLS_KEYS = (
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
)
HTTP_KEYS = ("http2", "headers")
RATE_LIMIT_KEYS = ("interval", "burst")
#: The headers the toolkit lets an operator add, with their allowed values (empty: any value).
HEADER_RULES: Mapping[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_HASH_HINT = (
    "is not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31, 60 characters); the file holds "
    "hashes, never passwords: generate one with htpasswd -nBC 10 '' | tr -d ':\\n'"
)


@dataclass(frozen=True)
class TlsServerConfig:
    """`tls_server_config`, with paths resolved against the config file's directory."""

    cert_file: Path | None = None
    key_file: Path | None = None
    cert: str | None = field(default=None, repr=False)
    key: str | None = field(default=None, repr=False)
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    client_ca: str | None = field(default=None, repr=False)
    client_allowed_sans: tuple[str, ...] | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: tuple[str, ...] = ()

    def files(self) -> tuple[Path, ...]:
        """The files this section reads, for change detection."""
        named = (self.cert_file, self.key_file, self.client_ca_file)
        return tuple(path for path in named if path is not None)


@dataclass(frozen=True)
class HttpServerConfig:
    """`http_server_config`: `http2` is accepted and has no effect (HTTP/1.1 only)."""

    http2: bool = True
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RateLimit:
    """`rate_limit`: one request every `interval` seconds with bursts of `burst`."""

    interval: float = 0.0
    burst: int = 0

    @property
    def enabled(self) -> bool:
        return self.interval > 0


@dataclass(frozen=True)
class WebConfig:
    """A validated web config; `ssl_context` is built from `tls` when TLS is on."""

    path: Path | None = None
    tls: TlsServerConfig | None = None
    http: HttpServerConfig = HttpServerConfig()
    users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    rate_limit: RateLimit = RateLimit()
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def files(self) -> tuple[Path, ...]:
        """Every file whose change means a reload: the config itself and what it names."""
        own = (self.path,) if self.path is not None else ()
        return own + (self.tls.files() if self.tls is not None else ())


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys, as the toolkit's strict decoder does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise WebConfigError(
                    str(key), f"duplicate key (line {key_node.start_mark.line + 1})"
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


class _Section:
    """One mapping of the document; reads typed values and names keys in errors."""

    def __init__(self, data: Any, prefix: str, allowed: Collection[str]) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise WebConfigError(prefix, f"must be a mapping, got {_kind(data)}")
        for name in data:
            if str(name) not in allowed:
                known = ", ".join(allowed)
                raise WebConfigError(self._join(prefix, str(name)), f"unknown key (known: {known})")
        self.data: dict[str, Any] = {str(k): v for k, v in data.items()}
        self.prefix = prefix

    @staticmethod
    def _join(prefix: str, name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    def key(self, name: str) -> str:
        """The dotted name of `name` in this section."""
        return self._join(self.prefix, name)

    def error(self, name: str, problem: str) -> WebConfigError:
        return WebConfigError(self.key(name), problem)

    def string(self, name: str, *, secret: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            shown = "" if secret else f" ({value!r})"
            raise self.error(name, f"must be a string, got {_kind(value)}{shown}")
        return value

    def path(self, name: str, base: Path) -> Path | None:
        value = self.string(name)
        return None if value is None else base / Path(value).expanduser()

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(name, f"must be a list of strings, got {value!r}")
        return tuple(value)

    def section(self, name: str, allowed: Collection[str]) -> _Section:
        return _Section(self.data.get(name), self.key(name), allowed)


def _tls_section(top: _Section, base: Path) -> TlsServerConfig | None:
    section = top.section("tls_server_config", TLS_KEYS)
    if not section.data:
        return None
    config = TlsServerConfig(
        cert_file=section.path("cert_file", base),
        key_file=section.path("key_file", base),
        cert=section.string("cert"),
        key=section.string("key", secret=True),
        client_auth_type=section.string("client_auth_type") or "NoClientCert",
        client_ca_file=section.path("client_ca_file", base),
        client_ca=section.string("client_ca"),
        client_allowed_sans=section.strings("client_allowed_sans"),
        min_version=section.string("min_version") or "TLS12",
        max_version=section.string("max_version") or "TLS13",
        cipher_suites=section.strings("cipher_suites") or (),
        prefer_server_cipher_suites=section.boolean("prefer_server_cipher_suites", True),
        curve_preferences=section.strings("curve_preferences") or (),
    )
    _check_pairs(section, config)
    return config


def _check_pairs(section: _Section, config: TlsServerConfig) -> None:
    """Exactly one of each inline/file pair for the certificate and key; at most one CA."""
    for inline, path, value in (
        ("cert", "cert_file", (config.cert, config.cert_file)),
        ("key", "key_file", (config.key, config.key_file)),
    ):
        if all(part is not None for part in value):
            raise section.error(path, f"give either {inline} or {path}, not both")
        if all(part is None for part in value):
            raise section.error(path, f"is required to serve TLS (or give {inline} inline)")
    if config.client_ca is not None and config.client_ca_file is not None:
        raise section.error("client_ca_file", "give either client_ca or client_ca_file, not both")


def _http_section(top: _Section) -> HttpServerConfig:
    section = top.section("http_server_config", HTTP_KEYS)
    headers = section.section("headers", tuple(HEADER_RULES))
    chosen: list[tuple[str, str]] = []
    for name, allowed in HEADER_RULES.items():
        value = headers.string(name)
        if value is None:
            continue
        if allowed and value not in allowed:
            raise headers.error(name, f"{value!r} is not one of: {', '.join(allowed)}")
        if "\r" in value or "\n" in value:
            raise headers.error(name, "must be a single line")
        chosen.append((name, value))
    return HttpServerConfig(http2=section.boolean("http2", True), headers=tuple(chosen))


def _users(top: _Section) -> dict[str, bytes]:
    raw = top.data.get("basic_auth_users")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise top.error("basic_auth_users", f"must be a mapping of user to hash, got {_kind(raw)}")
    users: dict[str, bytes] = {}
    for name, hashed in raw.items():
        key = f"basic_auth_users.{name}"
        if not isinstance(name, str) or not name or ":" in name:
            raise WebConfigError(key, "user names must be non-empty strings without ':'")
        if not isinstance(hashed, str) or not _BCRYPT_HASH.fullmatch(hashed):
            raise WebConfigError(key, _HASH_HINT)
        users[name] = hashed.encode("ascii")
    return users


def _rate_limit(top: _Section) -> RateLimit:
    section = top.section("rate_limit", RATE_LIMIT_KEYS)
    interval_text = section.data.get("interval", 0)
    burst = section.data.get("burst", 0)
    if interval_text in (0, "0", None):
        return RateLimit()
    if not isinstance(interval_text, str):
        raise section.error(
            "interval", f"must be a duration such as 1s or 100ms, got {interval_text!r}"
        )
    try:
        interval = parse_duration(interval_text)
    except ValueError as error:
        raise section.error("interval", str(error)) from None
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise section.error("burst", f"must be a whole number of at least 1, got {burst!r}")
    return RateLimit(interval=interval, burst=burst)


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WebConfigError("", f"cannot read {path}: {error}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        # Only the problem and position: the offending snippet might be a secret.
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise WebConfigError(
            "", f"not valid YAML: {error.problem or error.context}{where}"
        ) from None
    except yaml.YAMLError as error:
        raise WebConfigError("", f"not valid YAML: {type(error).__name__}") from None


def load_web_config(path: Path) -> WebConfig:
    """Parse and validate a web config file, loading its certificates; raises WebConfigError."""
    document = _read_document(path)
    top = _Section(document, "", TOP_KEYS)
    base = path.parent
    tls_config = _tls_section(top, base)
    return WebConfig(
        path=path,
        tls=tls_config,
        http=_http_section(top),
        users=_users(top),
        rate_limit=_rate_limit(top),
        ssl_context=tls.build_context(tls_config) if tls_config is not None else None,
    )
