"""TLS with real clients: versions, client certificates, allowed SANs, ciphers and curves."""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

import pytest
import trustme

from .conftest import Pki, Serve, client_context, issue, tls_config

#: What a client sees when the server refuses its handshake (TLS 1.3 may report it on read).
REFUSED = (ssl.SSLError, ConnectionError)


def fetch(port: int, context: ssl.SSLContext, path: str = "/metrics") -> tuple[str, int]:
    """GET over TLS; returns the negotiated TLS version and the HTTP status."""
    connection = http.client.HTTPSConnection("localhost", port, timeout=10, context=context)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        reply.read()
        sock = connection.sock
        assert isinstance(sock, ssl.SSLSocket)
        return str(sock.version()), reply.status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("version", "name"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
)
def test_serves_tls_12_and_13(serve: Serve, pki: Pki, version: ssl.TLSVersion, name: str) -> None:
    running = serve(tls_config(pki))
    assert fetch(running.port, pki.client_context(version=version)) == (name, 200)


def test_alpn_offers_http_1_1(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki))
    context = pki.client_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"


def test_min_version_tls13_refuses_tls12_clients(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki, "min_version: TLS13"))
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(version=ssl.TLSVersion.TLSv1_2))
    assert fetch(running.port, pki.client_context())[0] == "TLSv1.3"


def test_max_version_tls12_caps_the_protocol(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki, "max_version: TLS12"))
    assert fetch(running.port, pki.client_context()) == ("TLSv1.2", 200)
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(version=ssl.TLSVersion.TLSv1_3))


def test_plain_http_to_a_tls_listener_is_refused_and_the_server_goes_on(
    serve: Serve, pki: Pki
) -> None:
    running = serve(tls_config(pki))
    plain = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
    plain.request("GET", "/metrics")
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        plain.getresponse()
    plain.close()
    assert fetch(running.port, pki.client_context())[1] == 200


def mtls(pki: Pki, mode: str, extra: str = "") -> str:
    return tls_config(pki, f"client_auth_type: {mode}\nclient_ca_file: {pki.ca}\n{extra}")


def test_require_and_verify_needs_a_trusted_client_certificate(serve: Serve, pki: Pki) -> None:
    running = serve(mtls(pki, "RequireAndVerifyClientCert"))
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context())
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(cert=pki.stranger_cert, key=pki.stranger_key))
    good = pki.client_context(cert=pki.client_cert, key=pki.client_key)
    assert fetch(running.port, good)[1] == 200
    # Client certificates guard the health endpoints too: they act before any request is read.
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(), "/-/healthy")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_missing_client_certificate_is_refused_in_both_versions(
    serve: Serve, pki: Pki, version: ssl.TLSVersion
) -> None:
    running = serve(mtls(pki, "RequireAndVerifyClientCert"))
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(version=version))


def test_verify_if_given_admits_anonymous_clients_but_not_strangers(serve: Serve, pki: Pki) -> None:
    running = serve(mtls(pki, "VerifyClientCertIfGiven"))
    assert fetch(running.port, pki.client_context())[1] == 200
    good = pki.client_context(cert=pki.client_cert, key=pki.client_key)
    assert fetch(running.port, good)[1] == 200
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(cert=pki.stranger_cert, key=pki.stranger_key))


def test_request_client_cert_admits_every_client(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki, "client_auth_type: RequestClientCert"))
    assert fetch(running.port, pki.client_context())[1] == 200
    stranger = pki.client_context(cert=pki.stranger_cert, key=pki.stranger_key)
    assert fetch(running.port, stranger)[1] == 200


@pytest.mark.parametrize("allowed", ["prometheus.example", "scraper@example.com"])
def test_client_allowed_sans_admits_a_matching_certificate(
    serve: Serve, pki: Pki, allowed: str
) -> None:
    running = serve(mtls(pki, "RequireAndVerifyClientCert", f"client_allowed_sans: [{allowed}]"))
    good = pki.client_context(cert=pki.client_cert, key=pki.client_key)
    assert fetch(running.port, good)[1] == 200


def test_client_allowed_sans_refuses_other_certificates(
    serve: Serve, pki: Pki, authority: trustme.CA, tmp_path: Path
) -> None:
    running = serve(
        mtls(pki, "RequireAndVerifyClientCert", "client_allowed_sans: [grafana.example, '::1']")
    )
    other_cert, other_key = issue(authority, tmp_path, "other", "intruder.example")
    with pytest.raises(REFUSED):
        fetch(running.port, pki.client_context(cert=other_cert, key=other_key))
    ip_cert, ip_key = issue(authority, tmp_path, "ip", "0:0:0:0:0:0:0:1")
    assert fetch(running.port, pki.client_context(cert=ip_cert, key=ip_key))[1] == 200


def test_cipher_suites_restrict_tls12(serve: Serve, pki: Pki) -> None:
    text = tls_config(
        pki, "max_version: TLS12\ncipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]"
    )
    running = serve(text)
    client = pki.client_context()
    with (
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw,
        client.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        assert cipher[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
    narrow = pki.client_context()
    narrow.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with pytest.raises(REFUSED):
        fetch(running.port, narrow)


def test_a_single_curve_is_enforced(serve: Serve, pki: Pki) -> None:
    running = serve(tls_config(pki, "curve_preferences: [CurveP384]"))
    assert fetch(running.port, pki.client_context())[1] == 200
    other_curve = pki.client_context()
    other_curve.set_ecdh_curve("X25519")
    with pytest.raises(REFUSED):
        fetch(running.port, other_curve)


def test_clients_verify_the_served_certificate(serve: Serve, pki: Pki, tmp_path: Path) -> None:
    running = serve(tls_config(pki))
    unrelated = tmp_path / "unrelated-ca.crt"
    trustme.CA().cert_pem.write_to_path(str(unrelated))
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(running.port, client_context(unrelated))
