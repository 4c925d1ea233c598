"""Basic auth with real clients: good, bad and absent credentials, the cache, and the logs."""

from __future__ import annotations

import base64
import logging
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest
import requests

from databricks_exporter.web.auth import CHALLENGE, Credentials, parse_basic

from .conftest import PASSWORD, Pki, Running, Serve, basic, tls_config


def users(password_hash: str) -> str:
    return f"basic_auth_users:\n  alice: '{password_hash}'\n"


@pytest.fixture
def guarded(serve: Serve, password_hash: str) -> Running:
    return serve(users(password_hash))


def test_good_credentials_pass(guarded: Running) -> None:
    reply = guarded.get("/metrics", headers=basic("alice", PASSWORD))
    assert reply.status == 200
    assert b"demo_up 1.0" in reply.body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("alice", "wrong"),
        basic("mallory", PASSWORD),
        basic("alice", PASSWORD + "x"),
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        basic("alice", "x" * 100),  # beyond bcrypt's 72 bytes: refused, not an error
    ],
    ids=["absent", "bad", "unknown", "longer", "bearer", "garbage", "no-colon", "too-long"],
)
def test_other_credentials_get_401_with_a_challenge(
    guarded: Running, headers: dict[str, str]
) -> None:
    reply = guarded.get("/metrics", headers=headers)
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == CHALLENGE
    assert guarded.state.scrapes == 0


def test_landing_page_and_unknown_paths_are_behind_auth(guarded: Running) -> None:
    assert guarded.get("/").status == 401
    assert guarded.get("/nothing-here").status == 401
    assert guarded.get("/nothing-here", headers=basic("alice", PASSWORD)).status == 404


def test_health_endpoints_are_open(guarded: Running) -> None:
    assert guarded.get("/-/healthy").status == 200
    assert guarded.get("/-/ready").status == 200


def test_verified_credentials_are_cached(guarded: Running) -> None:
    for _ in range(20):
        assert guarded.get("/metrics", headers=basic("alice", PASSWORD)).status == 200
    assert guarded.server.auth.bcrypt_runs == 1
    assert guarded.get("/metrics", headers=basic("alice", "wrong")).status == 401
    assert guarded.server.auth.bcrypt_runs == 2, "a different password is verified again"
    assert guarded.get("/metrics", headers=basic("alice", PASSWORD)).status == 200
    assert guarded.server.auth.bcrypt_runs == 2, "the good one is still cached"


def test_concurrent_first_requests_verify_once(guarded: Running) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(lambda _: guarded.get("/", headers=basic("alice", PASSWORD)).status, range(32))
        )
    assert statuses == [200] * 32
    assert guarded.server.auth.bcrypt_runs == 1


def test_changed_hash_invalidates_the_cache(guarded: Running) -> None:
    assert guarded.get("/metrics", headers=basic("alice", PASSWORD)).status == 200
    new_hash = bcrypt.hashpw(b"new password", bcrypt.gensalt(rounds=4)).decode()
    assert guarded.config_file is not None
    guarded.config_file.write_text(users(new_hash))
    assert guarded.server.watcher is not None
    assert guarded.call(guarded.server.watcher.check())
    assert guarded.get("/metrics", headers=basic("alice", PASSWORD)).status == 401
    assert guarded.get("/metrics", headers=basic("alice", "new password")).status == 200


def test_removing_all_users_opens_the_server(guarded: Running) -> None:
    assert guarded.config_file is not None
    guarded.config_file.write_text("")
    assert guarded.server.watcher is not None
    assert guarded.call(guarded.server.watcher.check())
    assert guarded.get("/metrics").status == 200


def test_passwords_never_reach_the_logs(guarded: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="databricks_exporter")
    guarded.get("/metrics", headers=basic("alice", PASSWORD))
    guarded.get("/metrics", headers=basic("alice", "wrong-password-123"))
    guarded.get("/metrics", headers=basic("hunter2-as-user", "x"))
    text = caplog.text
    assert "basic auth failed" in text
    for secret in (PASSWORD, "wrong-password-123", "hunter2-as-user"):
        assert secret not in text


def test_requests_over_tls_with_basic_auth(serve: Serve, pki: Pki, password_hash: str) -> None:
    running = serve(tls_config(pki) + users(password_hash))
    url = f"https://localhost:{running.port}/metrics"
    good = requests.get(url, auth=("alice", PASSWORD), verify=str(pki.ca), timeout=10)
    assert good.status_code == 200
    assert "demo_answer" in good.text
    bad = requests.get(url, auth=("alice", "nope"), verify=str(pki.ca), timeout=10)
    assert bad.status_code == 401


def test_parse_basic() -> None:
    def header(raw: bytes) -> str:
        return "Basic " + base64.b64encode(raw).decode()

    assert parse_basic(header(b"al:ice:pa:ss")) == Credentials("al", b"ice:pa:ss")
    assert parse_basic(header("jörg:pässword".encode())) == Credentials("jörg", "pässword".encode())
    assert parse_basic("basic " + base64.b64encode(b"a:b").decode()) == Credentials("a", b"b")
    assert parse_basic(header(b"\xff\xfe:x")) is None
    assert parse_basic(None) is None
    assert parse_basic("Basic") is None


def test_credentials_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(Credentials("alice", PASSWORD.encode()))
