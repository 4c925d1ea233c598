"""Pre-rendered exposition: parts, composition, negotiation."""

from __future__ import annotations

import gzip

import pytest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from databricks_exporter.exposition import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    Exposition,
    Part,
    compose,
    wants_gzip,
    wants_openmetrics,
)


def families() -> list[CounterMetricFamily | GaugeMetricFamily]:
    runs = CounterMetricFamily("databricks_job_runs_total", "Runs.", labels=["workspace_id"])
    runs.add_metric(["1"], 3)
    up = GaugeMetricFamily("databricks_up", "Up.")
    up.add_metric([], 1)
    return [up, runs]


def test_part_renders_both_formats_without_eof() -> None:
    part = Part.render(families())
    assert part.text == (
        b"# HELP databricks_up Up.\n"
        b"# TYPE databricks_up gauge\n"
        b"databricks_up 1.0\n"
        b"# HELP databricks_job_runs_total Runs.\n"
        b"# TYPE databricks_job_runs_total counter\n"
        b'databricks_job_runs_total{workspace_id="1"} 3.0\n'
    )
    assert part.openmetrics == (
        b"# HELP databricks_up Up.\n"
        b"# TYPE databricks_up gauge\n"
        b"databricks_up 1.0\n"
        b"# HELP databricks_job_runs Runs.\n"
        b"# TYPE databricks_job_runs counter\n"
        b'databricks_job_runs_total{workspace_id="1"} 3.0\n'
    )
    assert part.series == 2


def test_compose_joins_parts_and_ends_openmetrics_once() -> None:
    a = Part(b"a 1\n", b"a 1\n")
    b = Part(b"b 2\n", b"b 2\n")
    rendered = compose([a, b])
    assert rendered.text == b"a 1\nb 2\n"
    assert rendered.openmetrics == b"a 1\nb 2\n# EOF\n"
    assert gzip.decompress(rendered.text_gzip) == rendered.text
    assert gzip.decompress(rendered.openmetrics_gzip) == rendered.openmetrics
    body = rendered.body(openmetrics=True, gzipped=True)
    assert (body.content_type, body.gzipped) == (OPENMETRICS_CONTENT_TYPE, True)
    body = rendered.body(openmetrics=False, gzipped=False)
    assert (body.data, body.content_type) == (b"a 1\nb 2\n", TEXT_CONTENT_TYPE)


@pytest.mark.parametrize(
    ("openmetrics", "gzipped", "field", "content_type"),
    [
        (False, False, "text", TEXT_CONTENT_TYPE),
        (False, True, "text_gzip", TEXT_CONTENT_TYPE),
        (True, False, "openmetrics", OPENMETRICS_CONTENT_TYPE),
        (True, True, "openmetrics_gzip", OPENMETRICS_CONTENT_TYPE),
    ],
)
def test_body_picks_each_of_the_four(
    openmetrics: bool, gzipped: bool, field: str, content_type: str
) -> None:
    rendered = compose([Part(b"a 1\n", b"a 1\n")])
    body = rendered.body(openmetrics=openmetrics, gzipped=gzipped)
    assert body.data is getattr(rendered, field)
    assert (body.content_type, body.gzipped) == (content_type, gzipped)


async def test_publish_replaces_drops_and_orders_parts() -> None:
    exposition = Exposition()
    exposition.set_order(["first", "second"])
    await exposition.publish({"second": Part(b"s\n", b"s\n", 1), "extra": Part(b"x\n", b"x\n")})
    await exposition.publish({"first": Part(b"f\n", b"f\n", 2)})
    assert exposition.current.text == b"f\ns\nx\n"
    await exposition.publish({"second": None})
    assert exposition.current.text == b"f\nx\n"
    assert exposition.series() == {"first": 2, "extra": 0}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("*/*", False),
        ("text/plain;version=0.0.4", False),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            True,
        ),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
        ("application/openmetrics-text;q=0", False),
        ("application/openmetrics-text;version=2.0.0", False),
    ],
)
def test_content_negotiation(accept: str | None, expected: bool) -> None:
    assert wants_openmetrics(accept) is expected


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        (None, False),
        ("gzip", True),
        ("deflate, gzip;q=1.0", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("*", True),
    ],
)
def test_gzip_negotiation(encoding: str | None, expected: bool) -> None:
    assert wants_gzip(encoding) is expected
