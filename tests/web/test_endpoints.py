"""Endpoints: telemetry negotiation, HEAD, landing page, health, readiness, 404/405, headers."""

from __future__ import annotations

import gzip
import time

import pytest

from databricks_exporter.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from databricks_exporter.web.landing import format_time

from .conftest import METRICS_TEXT, PASSWORD, Running, Serve, basic

OPENMETRICS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)


@pytest.fixture
def plain(serve: Serve) -> Running:
    return serve()


def test_text_format_by_default(plain: Running) -> None:
    reply = plain.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == TEXT_CONTENT_TYPE
    assert reply.headers["Vary"] == "Accept, Accept-Encoding"
    assert "Content-Encoding" not in reply.headers
    assert reply.body == METRICS_TEXT
    assert plain.state.scrapes == 1


def test_openmetrics_when_accepted(plain: Running) -> None:
    reply = plain.get("/metrics", headers={"Accept": OPENMETRICS_ACCEPT})
    assert reply.headers["Content-Type"] == OPENMETRICS_CONTENT_TYPE
    assert reply.body.endswith(b"# EOF\n")


@pytest.mark.parametrize("accept", ["", OPENMETRICS_ACCEPT])
def test_gzip_when_accepted(plain: Running, accept: str) -> None:
    reply = plain.get("/metrics", headers={"Accept-Encoding": "gzip", "Accept": accept})
    assert reply.headers["Content-Encoding"] == "gzip"
    expected = plain.state.current.body(openmetrics=bool(accept), gzipped=False).data
    assert gzip.decompress(reply.body) == expected
    assert reply.headers["Content-Length"] == str(len(reply.body))


def test_gzip_refused_with_q0(plain: Running) -> None:
    reply = plain.get("/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in reply.headers
    assert reply.body == METRICS_TEXT


def test_head_has_headers_and_no_body(plain: Running) -> None:
    reply = plain.get("/metrics", method="HEAD", headers={"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["Content-Length"] == str(len(plain.state.current.text_gzip))
    assert reply.headers["Content-Encoding"] == "gzip"
    assert plain.state.scrapes == 1


def test_custom_telemetry_path(serve: Serve) -> None:
    running = serve(telemetry_path="/custom/metrics")
    assert running.get("/custom/metrics?x=1").body == METRICS_TEXT
    assert running.get("/metrics").status == 404


def test_landing_page(plain: Running) -> None:
    reply = plain.get("/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    page = reply.body.decode()
    assert "Version 9.8.7" in page
    for link in ('href="/metrics"', 'href="/-/healthy"', 'href="/-/ready"'):
        assert link in page
    jobs = plain.state.statuses[0]
    assert f"<td>{format_time(jobs.last_attempt, time.time())[:23]}" in page
    assert "<td>permission</td>" in page
    assert "<td>no</td>" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert plain.state.scrapes == 0


def test_format_time() -> None:
    assert format_time(None, 0) == "-"
    assert format_time(0, 90) == "1970-01-01 00:00:00 UTC (1m30s ago)"
    assert format_time(3600, 0) == "1970-01-01 01:00:00 UTC (in 1h)"


def test_health_and_readiness(plain: Running) -> None:
    assert plain.get("/-/healthy").status == 200
    assert plain.get("/-/ready").status == 200
    plain.state.is_ready = False
    not_ready = plain.get("/-/ready")
    assert not_ready.status == 503
    assert b"Not ready" in not_ready.body
    assert plain.get("/-/healthy").status == 200
    assert plain.get("/-/ready", method="HEAD").status == 503


def test_unknown_paths_and_methods(plain: Running) -> None:
    assert plain.get("/metrics/").status == 404
    assert plain.get("/favicon.ico").status == 404
    for path in ("/metrics", "/", "/-/healthy", "/-/ready"):
        reply = plain.get(path, method="POST")
        assert reply.status == 405, path
        assert set(reply.headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert plain.get("/metrics", method="DELETE").status == 405
    assert plain.state.scrapes == 0


def test_server_header_hides_versions(plain: Running) -> None:
    assert plain.get("/-/healthy").headers["Server"] == "databricks-exporter"


def test_configured_headers_on_every_response(serve: Serve, password_hash: str) -> None:
    running = serve(
        "http_server_config:\n  headers:\n"
        "    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n"
        "    Strict-Transport-Security: max-age=31536000\n"
        "    Content-Security-Policy: default-src 'self'\n"
        f"basic_auth_users:\n  alice: '{password_hash}'\n"
    )
    auth = basic("alice", PASSWORD)
    for path, headers, status in [
        ("/metrics", auth, 200),
        ("/", auth, 200),
        ("/metrics", {}, 401),
        ("/nope", auth, 404),
        ("/-/healthy", {}, 200),
    ]:
        reply = running.get(path, headers=headers)
        assert reply.status == status
        assert reply.headers["X-Frame-Options"] == "deny"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert reply.headers["Content-Security-Policy"] == "default-src 'self'"


def test_rate_limit(serve: Serve) -> None:
    running = serve("rate_limit:\n  interval: 1h\n  burst: 2\n")
    assert [running.get("/metrics").status for _ in range(3)] == [200, 200, 429]
    assert running.get("/-/healthy").status == 200
