"""TLS for the web front: an `ssl.SSLContext` from `tls_server_config`, and the SAN check.

What Python's ssl module cannot do the way Go's crypto/tls does is refused with a message that
names the key, never silently weakened (see docs/web-config.md):

* `client_auth_type: RequireAnyClientCert` (require a certificate, never verify it): refused;
  `RequestClientCert` admits every client, as in Go, but does not ask for a certificate.
* `min_version`/`max_version` `TLS10`/`TLS11`: refused (OpenSSL 3 and Python deprecate them).
* `cipher_suites`: TLS 1.2 suites map to OpenSSL names; TLS 1.3 suites are accepted and have no
  effect, as in Go, where TLS 1.3 suites are not configurable either.
* `curve_preferences`: one curve is enforced; several are refused, since Python can only
  restrict the key exchange to a single group.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from databricks_exporter.web.errors import WebConfigError

if TYPE_CHECKING:
    from databricks_exporter.web.config import TlsServerConfig

PREFIX = "tls_server_config"
CLIENT_AUTH_TYPES = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
_ALIASES = {"RequireClientCert": "RequireAnyClientCert"}  # kept by the toolkit for old files
_VERIFY_MODES = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_OLD_VERSIONS = ("TLS10", "TLS11")
#: Go cipher suite names -> OpenSSL names; None for TLS 1.3 suites (not configurable).
CIPHERS: dict[str, str | None] = {
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
    "TLS_RSA_WITH_RC4_128_SHA": "RC4-SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA": "ECDHE-RSA-RC4-SHA",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA": "ECDHE-ECDSA-RC4-SHA",
}
#: Go curve names -> OpenSSL group names; None where Python's ssl cannot select the group.
CURVES: dict[str, str | None] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
    "X25519MLKEM768": None,
    "SecP256r1MLKEM768": None,
    "SecP384r1MLKEM1024": None,
}


def _error(key: str, problem: str) -> WebConfigError:
    return WebConfigError(f"{PREFIX}.{key}", problem)


def client_auth_type(config: TlsServerConfig) -> str:
    """The canonical client_auth_type, or a WebConfigError naming the key."""
    name = _ALIASES.get(config.client_auth_type, config.client_auth_type)
    if name not in CLIENT_AUTH_TYPES:
        raise _error(
            "client_auth_type",
            f"{config.client_auth_type!r} is not one of: {', '.join(CLIENT_AUTH_TYPES)}",
        )
    if name == "RequireAnyClientCert":
        raise _error(
            "client_auth_type",
            "RequireAnyClientCert (require a certificate but never verify it) cannot be "
            "honoured: Python's ssl module verifies every certificate it requires; use "
            "RequireAndVerifyClientCert with client_ca_file",
        )
    return name


def _check_client_auth(config: TlsServerConfig, mode: str) -> None:
    has_ca = config.client_ca_file is not None or config.client_ca is not None
    if has_ca and mode == "NoClientCert":
        raise _error(
            "client_ca_file", "a client CA is configured but client_auth_type is NoClientCert"
        )
    if not has_ca and mode in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        raise _error("client_ca_file", f"is required with client_auth_type {mode}")
    if config.client_allowed_sans is not None and mode != "RequireAndVerifyClientCert":
        raise _error(
            "client_allowed_sans",
            "requires client_auth_type RequireAndVerifyClientCert (otherwise a client may "
            "connect without a certificate, leaving no SAN to match)",
        )


def _version(config: TlsServerConfig, key: str) -> ssl.TLSVersion:
    name: str = getattr(config, key)
    if name in _OLD_VERSIONS:
        raise _error(key, f"{name} is not supported: TLS 1.0 and 1.1 are disabled; use TLS12")
    if name not in VERSIONS:
        raise _error(key, f"{name!r} is not one of: TLS12, TLS13")
    if name == "TLS13" and not ssl.HAS_TLSv1_3:
        raise _error(key, "TLS13 is not available in this Python's OpenSSL")
    return VERSIONS[name]


def _cipher_string(config: TlsServerConfig) -> str | None:
    """The OpenSSL cipher list for the TLS 1.2 suites named, None to keep the defaults."""
    chosen: list[str] = []
    for name in config.cipher_suites:
        if name not in CIPHERS:
            raise _error("cipher_suites", f"unknown cipher suite {name!r} (use Go's names)")
        openssl_name = CIPHERS[name]
        if openssl_name is None:
            continue
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(openssl_name)
        except ssl.SSLError:
            raise _error(
                "cipher_suites", f"{name} is not available in this OpenSSL build"
            ) from None
        chosen.append(openssl_name)
    return ":".join(chosen) if chosen else None


def _curve(config: TlsServerConfig) -> str | None:
    names = config.curve_preferences
    for name in names:
        if name not in CURVES:
            raise _error("curve_preferences", f"unknown curve {name!r}: one of {', '.join(CURVES)}")
        if CURVES[name] is None:
            raise _error("curve_preferences", f"{name} cannot be selected through Python's ssl")
    if len(names) > 1:
        raise _error(
            "curve_preferences",
            "Python's ssl can restrict the key exchange to one curve only; give a single "
            "curve (e.g. [X25519]) or remove the key to keep OpenSSL's default groups",
        )
    return CURVES[names[0]] if names else None


@contextlib.contextmanager
def _pem_path(text: str) -> Iterator[str]:
    """A file name holding inline PEM text, for APIs that only read files; gone afterwards."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pem", os.MFD_CLOEXEC)
        try:
            os.write(fd, text.encode("utf-8"))
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as directory:  # pragma: no cover (non-Linux)
        path = Path(directory) / "pem"
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
        yield str(path)


def _refuse_password() -> bytes:
    raise _error("key_file", "the key is encrypted; the exporter needs an unencrypted key")


def _load_chain(context: ssl.SSLContext, cert: str, key: str, config: TlsServerConfig) -> None:
    cert_key = "cert_file" if config.cert_file is not None else "cert"
    for name, path in ((cert_key, cert), ("key_file", key)):
        if not os.access(path, os.R_OK):
            raise _error(name, f"cannot read {path}: missing or not readable")
    try:
        context.load_cert_chain(cert, key, password=_refuse_password)
    except ssl.SSLError as error:
        raise _error(cert_key, f"cannot load the certificate and key: {_reason(error)}") from None


def _reason(error: ssl.SSLError) -> str:
    reason = error.reason or str(error)
    if "KEY_VALUES_MISMATCH" in reason:
        return "the key does not belong to the certificate"
    return reason.replace("_", " ").lower()


def _load_certificate(context: ssl.SSLContext, config: TlsServerConfig) -> None:
    with contextlib.ExitStack() as stack:
        cert = str(config.cert_file) if config.cert_file else None
        key = str(config.key_file) if config.key_file else None
        if cert is None and config.cert is not None:
            cert = stack.enter_context(_pem_path(config.cert))
        if key is None and config.key is not None:
            key = stack.enter_context(_pem_path(config.key))
        if cert is None or key is None:  # config parsing guarantees both; keeps mypy honest
            raise _error("cert_file", "cert_file and key_file are required")
        _load_chain(context, cert, key, config)


def _load_client_ca(context: ssl.SSLContext, config: TlsServerConfig) -> None:
    try:
        if config.client_ca_file is not None:
            context.load_verify_locations(cafile=str(config.client_ca_file))
        elif config.client_ca is not None:
            context.load_verify_locations(cadata=config.client_ca)
    except (OSError, ValueError) as error:
        key = "client_ca_file" if config.client_ca_file is not None else "client_ca"
        detail = _reason(error) if isinstance(error, ssl.SSLError) else str(error)
        raise _error(key, f"cannot load the CA certificates: {detail}") from None


def build_context(config: TlsServerConfig) -> ssl.SSLContext:
    """A server SSLContext honouring `config`, or a WebConfigError naming the key."""
    mode = client_auth_type(config)
    _check_client_auth(config, mode)
    minimum, maximum = _version(config, "min_version"), _version(config, "max_version")
    if minimum > maximum:
        raise _error("min_version", f"{config.min_version} is above max_version")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version, context.maximum_version = minimum, maximum
    ciphers, curve = _cipher_string(config), _curve(config)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if curve is not None:
        context.set_ecdh_curve(curve)
    if not config.prefer_server_cipher_suites:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    _load_certificate(context, config)
    if mode in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        _load_client_ca(context, config)
    context.verify_mode = _VERIFY_MODES[mode]
    context.set_alpn_protocols(["http/1.1"])
    return context


def peer_sans(peercert: Any) -> set[str]:
    """The SAN values of a verified peer certificate, IP addresses in canonical form."""
    values: set[str] = set()
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        values.add(_canonical_ip(value) if kind == "IP Address" else value)
    return values


def _canonical_ip(text: str) -> str:
    """`::1` for any spelling of it (Python prints IPv6 SANs uncompressed); text if not an IP."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text


def sans_allowed(peercert: Any, allowed: tuple[str, ...]) -> bool:
    """Whether the client certificate carries one of the allowed SANs (exact match)."""
    wanted = {_canonical_ip(entry) for entry in allowed}
    return bool(peer_sans(peercert) & wanted)
