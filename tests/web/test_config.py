"""Web config validation: every bad input fails at load with a message naming the key."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from databricks_exporter.settings import ConfigError, Settings
from databricks_exporter.web import StartupError, WebConfigError, WebServer, load_web_config
from databricks_exporter.web.config import WebConfig

from .conftest import PASSWORD, FakeState, Pki, issue, tls_config


def load(tmp_path: Path, text: str) -> WebConfig:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    return load_web_config(path)


def refused(tmp_path: Path, text: str, key: str, *fragments: str) -> WebConfigError:
    """Load `text`, expect a WebConfigError naming `key` and containing `fragments`."""
    with pytest.raises(WebConfigError) as caught:
        load(tmp_path, text)
    error = caught.value
    assert error.key == key, str(error)
    assert str(error).startswith(f"{key}: ") if key else True
    for fragment in fragments:
        assert fragment in str(error), str(error)
    return error


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.tls is None
    assert config.ssl_context is None
    assert not config.users
    assert config.http.headers == ()


def test_full_config_is_accepted(tmp_path: Path, pki: Pki, password_hash: str) -> None:
    config = load(
        tmp_path,
        tls_config(
            pki,
            f"""
            client_auth_type: RequireAndVerifyClientCert
            client_ca_file: {pki.ca}
            client_allowed_sans: [prometheus.example]
            min_version: TLS12
            max_version: TLS13
            cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
            prefer_server_cipher_suites: false
            curve_preferences: [X25519]
            """,
        )
        + "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n"
        + f"basic_auth_users:\n  alice: '{password_hash}'\n"
        + "rate_limit:\n  interval: 100ms\n  burst: 5\n",
    )
    assert config.tls is not None
    assert config.tls.client_allowed_sans == ("prometheus.example",)
    assert isinstance(config.ssl_context, ssl.SSLContext)
    assert config.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert not config.ssl_context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert config.http.headers == (("X-Frame-Options", "deny"),)
    assert config.users == {"alice": password_hash.encode()}
    assert config.rate_limit.interval == 0.1
    assert config.rate_limit.burst == 5
    assert password_hash not in repr(config)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path, pki: Pki) -> None:
    config = load(
        tmp_path, f"tls_server_config:\n  cert_file: {pki.cert.name}\n  key_file: server.key\n"
    )
    assert config.tls is not None
    assert config.tls.cert_file == tmp_path / "server.crt"


def test_inline_certificate_key_and_client_ca(tmp_path: Path, pki: Pki) -> None:
    def block(path: Path) -> str:
        return "|\n" + "".join(f"    {line}\n" for line in path.read_text().splitlines())

    config = load(
        tmp_path,
        "tls_server_config:\n"
        f"  cert: {block(pki.cert)}"
        f"  key: {block(pki.key)}"
        f"  client_ca: {block(pki.ca)}"
        "  client_auth_type: VerifyClientCertIfGiven\n",
    )
    assert config.ssl_context is not None
    assert config.ssl_context.verify_mode == ssl.CERT_OPTIONAL
    assert "BEGIN" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("tls_server_confg: {}\n", "tls_server_confg", "unknown key"),
        ("tls_server_config:\n  certfile: x\n", "tls_server_config.certfile", "unknown key"),
        ("http_server_config:\n  http3: true\n", "http_server_config.http3", "unknown key"),
        ("rate_limit:\n  every: 1s\n", "rate_limit.every", "unknown key"),
        ("- a\n- b\n", "", "must be a mapping"),
        ("tls_server_config: [a]\n", "tls_server_config", "must be a mapping"),
        ("http_server_config:\n  http2: maybe\n", "http_server_config.http2", "true or false"),
        ("basic_auth_users: [alice]\n", "basic_auth_users", "mapping of user to hash"),
        ("rate_limit:\n  interval: 1s\n  burst: 0\n", "rate_limit.burst", "at least 1"),
        ("rate_limit:\n  interval: soon\n  burst: 1\n", "rate_limit.interval", "not a duration"),
    ],
)
def test_structure_errors_name_the_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    refused(tmp_path, text, key, fragment)


def test_unknown_key_lists_the_known_ones(tmp_path: Path) -> None:
    refused(tmp_path, "basic_auth: {}\n", "basic_auth", "tls_server_config", "basic_auth_users")


def test_invalid_yaml_gives_the_position_not_the_text(tmp_path: Path) -> None:
    error = refused(tmp_path, "basic_auth_users:\n  alice: 'hunter2\n", "", "not valid YAML")
    assert "hunter2" not in str(error)
    assert "line" in str(error)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    refused(tmp_path, "rate_limit: {}\nrate_limit: {}\n", "rate_limit", "duplicate key")


def test_bad_bcrypt_hash_never_echoes_the_value(tmp_path: Path) -> None:
    error = refused(
        tmp_path, f"basic_auth_users:\n  alice: {PASSWORD}\n", "basic_auth_users.alice", "bcrypt"
    )
    assert PASSWORD not in str(error)


def test_truncated_bcrypt_hash_is_refused(tmp_path: Path, password_hash: str) -> None:
    text = f"basic_auth_users:\n  alice: '{password_hash[:-1]}'\n"
    refused(tmp_path, text, "basic_auth_users.alice", "not a bcrypt hash")


def test_user_name_with_colon_is_refused(tmp_path: Path, password_hash: str) -> None:
    text = f"basic_auth_users:\n  'a:b': '{password_hash}'\n"
    refused(tmp_path, text, "basic_auth_users.a:b", "without ':'")


def test_bcrypt_variants_2a_2b_2y_are_accepted(tmp_path: Path, password_hash: str) -> None:
    lines = [f"  u{v}: '{password_hash.replace('$2b$', f'$2{v}$')}'" for v in "aby"]
    config = load(tmp_path, "basic_auth_users:\n" + "\n".join(lines) + "\n")
    assert set(config.users) == {"ua", "ub", "uy"}


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ("client_auth_type: AskNicely", "client_auth_type", "RequireAndVerifyClientCert"),
        ("client_auth_type: RequireAnyClientCert", "client_auth_type", "cannot be honoured"),
        ("client_auth_type: RequireClientCert", "client_auth_type", "cannot be honoured"),
        ("client_auth_type: RequireAndVerifyClientCert", "client_ca_file", "is required"),
        ("client_auth_type: VerifyClientCertIfGiven", "client_ca_file", "is required"),
        ("min_version: TLS10", "min_version", "not supported"),
        ("max_version: TLS11", "max_version", "not supported"),
        ("min_version: TLS14", "min_version", "not one of"),
        ("min_version: TLS13\nmax_version: TLS12", "min_version", "above max_version"),
        ("cipher_suites: [TLS_FANCY_NEW_CIPHER]", "cipher_suites", "unknown cipher suite"),
        ("cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]", "cipher_suites", "not available"),
        ("cipher_suites: TLS_AES_128_GCM_SHA256", "cipher_suites", "list of strings"),
        ("curve_preferences: [CurveP999]", "curve_preferences", "unknown curve"),
        ("curve_preferences: [X25519, CurveP256]", "curve_preferences", "one curve only"),
        ("curve_preferences: [X25519MLKEM768]", "curve_preferences", "cannot be selected"),
        ("client_allowed_sans: [a.example]", "client_allowed_sans", "RequireAndVerifyClientCert"),
    ],
)
def test_tls_errors_name_the_key(
    tmp_path: Path, pki: Pki, extra: str, key: str, fragment: str
) -> None:
    refused(tmp_path, tls_config(pki, extra), f"tls_server_config.{key}", fragment)


def test_client_ca_without_client_auth_is_refused(tmp_path: Path, pki: Pki) -> None:
    text = tls_config(pki, f"client_ca_file: {pki.ca}")
    refused(tmp_path, text, "tls_server_config.client_ca_file", "NoClientCert")


def test_client_allowed_sans_needs_verified_certificates(tmp_path: Path, pki: Pki) -> None:
    text = tls_config(
        pki,
        f"client_auth_type: VerifyClientCertIfGiven\nclient_ca_file: {pki.ca}\n"
        "client_allowed_sans: [prometheus.example]",
    )
    refused(tmp_path, text, "tls_server_config.client_allowed_sans", "RequireAndVerifyClientCert")


def test_missing_certificate_file(tmp_path: Path, pki: Pki) -> None:
    text = f"tls_server_config:\n  cert_file: nowhere.crt\n  key_file: {pki.key}\n"
    refused(tmp_path, text, "tls_server_config.cert_file", "cannot read", "nowhere.crt")


def test_missing_key_file_key(tmp_path: Path, pki: Pki) -> None:
    text = f"tls_server_config:\n  cert_file: {pki.cert}\n"
    refused(tmp_path, text, "tls_server_config.key_file", "is required")


def test_tls_section_without_certificate_is_refused(tmp_path: Path) -> None:
    text = "tls_server_config:\n  min_version: TLS13\n"
    refused(tmp_path, text, "tls_server_config.cert_file", "is required")


def test_cert_and_cert_file_together_are_refused(tmp_path: Path, pki: Pki) -> None:
    text = tls_config(pki, "cert: inline")
    refused(tmp_path, text, "tls_server_config.cert_file", "not both")


def test_key_of_another_certificate_is_refused(tmp_path: Path, pki: Pki) -> None:
    text = f"tls_server_config:\n  cert_file: {pki.cert}\n  key_file: {pki.client_key}\n"
    refused(tmp_path, text, "tls_server_config.cert_file", "does not belong")


def test_garbage_certificate_is_refused(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "junk.crt").write_text("not a certificate\n")
    text = f"tls_server_config:\n  cert_file: junk.crt\n  key_file: {pki.key}\n"
    refused(tmp_path, text, "tls_server_config.cert_file", "cannot load")


def test_encrypted_key_is_refused_without_prompting(tmp_path: Path, pki: Pki) -> None:
    key = serialization.load_pem_private_key(pki.key.read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass-phrase"),
    )
    (tmp_path / "locked.key").write_bytes(encrypted)
    text = f"tls_server_config:\n  cert_file: {pki.cert}\n  key_file: locked.key\n"
    refused(tmp_path, text, "tls_server_config.key_file", "encrypted")


def test_client_ca_file_without_certificates(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "empty-ca.pem").write_text("# nothing here\n")
    text = tls_config(
        pki, "client_auth_type: RequireAndVerifyClientCert\nclient_ca_file: empty-ca.pem"
    )
    refused(tmp_path, text, "tls_server_config.client_ca_file", "cannot load")


def test_tls13_cipher_names_are_accepted_and_rsa_suites_map(
    tmp_path: Path, authority: trustme.CA
) -> None:
    cert, key = issue(authority, tmp_path, "rsa", "localhost")
    text = (
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  cipher_suites: [TLS_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"
    )
    config = load(tmp_path, text)
    assert config.ssl_context is not None
    tls12 = [c["name"] for c in config.ssl_context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-RSA-AES256-GCM-SHA384"]


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("http_server_config:\n  headers:\n    X-Powered-By: me\n", "X-Powered-By", "unknown"),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "X-Frame-Options",
            "deny",
        ),
        (
            "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
            "X-Content-Type-Options",
            "nosniff",
        ),
    ],
)
def test_header_errors_name_the_header(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    refused(tmp_path, text, f"http_server_config.headers.{key}", fragment)


def test_blank_header_values_are_unset(tmp_path: Path) -> None:
    text = "http_server_config:\n  headers:\n    Content-Security-Policy: ''\n"
    assert load(tmp_path, text).http.headers == ()


async def test_start_up_error_names_the_flag_and_exits_through_config_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  client_auth_type: Sometimes\n  cert_file: a\n")
    settings = Settings(workspace=None, listen_addresses=("127.0.0.1:0",), web_config_file=path)
    server = WebServer(settings, FakeState(), version="1")
    with pytest.raises(WebConfigError) as caught:
        await server.start()
    assert isinstance(caught.value, StartupError)
    assert isinstance(caught.value, ConfigError)
    message = str(caught.value)
    flag = "--web.config.file [env DATABRICKS_EXPORTER_WEB_CONFIG_FILE]"
    assert message == f"{flag} {path}: tls_server_config.key_file: {caught.value.problem}"
    assert "\n" not in message
    assert server.addresses == []
    await server.stop()
