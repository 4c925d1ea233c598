"""Reloading the web config without a restart: certificates, client CAs, users, broken files."""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path

import pytest
import trustme

from .conftest import (
    PASSWORD,
    Pki,
    Running,
    Serve,
    basic,
    client_context,
    issue,
    tls_config,
    wait_until,
)

RELOAD_FAILED = "web config reload failed; the previous config stays in force"


def served_certificate(running: Running, pki: Pki) -> bytes:
    """The DER certificate the server presents to a new connection."""
    context = pki.client_context()
    with (
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def staging(tmp_path: Path) -> Path:
    """A directory for files that are not served yet."""
    directory = tmp_path / "staging"
    directory.mkdir(exist_ok=True)
    return directory


def leaf_der(chain: Path) -> bytes:
    """The DER form of the first certificate in a PEM chain file."""
    end = "-----END CERTIFICATE-----"
    return ssl.PEM_cert_to_DER_cert(chain.read_text().split(end)[0] + end + "\n")


def rotate(authority: trustme.CA, pki: Pki, directory: Path) -> bytes:
    """Issue a new server certificate and write it over the served files; returns its DER."""
    cert, key = issue(authority, directory, "next", "localhost", "127.0.0.1")
    pki.key.write_bytes(key.read_bytes())
    pki.cert.write_bytes(cert.read_bytes())
    return leaf_der(cert)


def reload_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The `err` of every failed reload logged so far."""
    return [
        str(getattr(record, "kv", {}).get("err"))
        for record in caplog.records
        if record.getMessage() == RELOAD_FAILED and record.levelno == logging.ERROR
    ]


def test_rotated_certificate_is_served_without_restart(
    serve: Serve, pki: Pki, authority: trustme.CA, tmp_path: Path
) -> None:
    running = serve(tls_config(pki))
    first = served_certificate(running, pki)
    new = rotate(authority, pki, staging(tmp_path))
    assert new != first
    wait_until(lambda: served_certificate(running, pki) == new, what="the new certificate")


def test_half_written_rotation_keeps_the_old_pair_until_complete(
    serve: Serve, pki: Pki, authority: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    running = serve(tls_config(pki))
    first = served_certificate(running, pki)
    cert, key = issue(authority, staging(tmp_path), "half", "localhost", "127.0.0.1")
    pki.cert.write_bytes(cert.read_bytes())  # the key is not there yet
    wait_until(lambda: bool(reload_failures(caplog)), what="the failed reload to be logged")
    assert "does not belong" in reload_failures(caplog)[0]
    assert served_certificate(running, pki) == first
    pki.key.write_bytes(key.read_bytes())
    wait_until(lambda: served_certificate(running, pki) != first, what="the completed rotation")


def test_broken_config_keeps_the_last_good_one(
    serve: Serve, pki: Pki, password_hash: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    running = serve(tls_config(pki) + f"basic_auth_users:\n  alice: '{password_hash}'\n")
    context = pki.client_context()
    assert running.config_file is not None
    running.config_file.write_text(tls_config(pki, "client_auth_type: Whatever"))
    wait_until(lambda: bool(reload_failures(caplog)), what="the failed reload to be logged")
    assert "client_auth_type" in reload_failures(caplog)[0]
    auth = basic("alice", PASSWORD)
    assert running.get("/metrics", context=context, host="localhost", headers=auth).status == 200
    assert running.get("/metrics", context=context, host="localhost").status == 401
    running.config_file.write_text(tls_config(pki))
    wait_until(
        lambda: running.get("/metrics", context=context, host="localhost").status == 200,
        what="the fixed config (no users) to apply",
    )


def test_deleted_config_keeps_serving(
    serve: Serve, password_hash: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    running = serve(f"basic_auth_users:\n  alice: '{password_hash}'\n")
    assert running.config_file is not None
    running.config_file.unlink()
    wait_until(lambda: bool(reload_failures(caplog)), what="the failed reload to be logged")
    assert running.get("/metrics").status == 401
    assert running.get("/metrics", headers=basic("alice", PASSWORD)).status == 200


def test_turning_tls_off_needs_a_restart(
    serve: Serve, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="databricks_exporter")
    running = serve(tls_config(pki))
    assert running.config_file is not None
    running.config_file.write_text("")
    wait_until(lambda: bool(reload_failures(caplog)), what="the refused reload")
    assert "needs a restart" in reload_failures(caplog)[0]
    assert running.get("/-/healthy", context=pki.client_context(), host="localhost").status == 200


def test_new_users_apply_to_a_plain_server(serve: Serve, password_hash: str) -> None:
    running = serve("")
    assert running.get("/metrics").status == 200
    assert running.config_file is not None
    running.config_file.write_text(f"basic_auth_users:\n  alice: '{password_hash}'\n")
    wait_until(lambda: running.get("/metrics").status == 401, what="the new users")
    assert running.get("/metrics", headers=basic("alice", PASSWORD)).status == 200


def test_rotated_client_ca_applies_to_new_connections(
    serve: Serve, pki: Pki, tmp_path: Path
) -> None:
    running = serve(
        tls_config(pki, f"client_auth_type: RequireAndVerifyClientCert\nclient_ca_file: {pki.ca}")
    )
    server_ca = staging(tmp_path) / "server-ca.crt"
    server_ca.write_bytes(pki.ca.read_bytes())  # the server certificate keeps its CA
    old_client = client_context(server_ca, cert=pki.client_cert, key=pki.client_key)
    assert running.get("/-/healthy", context=old_client, host="localhost").status == 200
    successor = trustme.CA()
    new_cert, new_key = issue(successor, staging(tmp_path), "successor", "prometheus.example")
    successor.cert_pem.write_to_path(str(pki.ca))
    new_client = client_context(server_ca, cert=new_cert, key=new_key)

    def new_client_admitted() -> bool:
        try:
            return running.get("/-/healthy", context=new_client, host="localhost").status == 200
        except (ssl.SSLError, ConnectionError):
            return False

    wait_until(new_client_admitted, what="the new client CA")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        running.get("/-/healthy", context=old_client, host="localhost")
