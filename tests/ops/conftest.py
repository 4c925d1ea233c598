"""Shared fixtures: one demo exporter, and one real Prometheus scraping it, for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from prometheus_fixture import NotYet, PrometheusServer, ScrapeTarget, poll, running_prometheus

from .bundle import ALERTS
from .live import SCRAPE_JOB, Exporter, running_exporter

#: Scrapes to wait for, so range functions over the last minute see more than one sample.
MIN_SCRAPES = 3


def sample_names(exposition: str) -> set[str]:
    """Names of every sample in an exposition (counters with their `_total`)."""
    return {
        sample.name
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


@pytest.fixture(scope="session")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    """`databricks-exporter --demo` on a free loopback port, every collector refreshed once."""
    with running_exporter(tmp_path_factory.mktemp("exporter")) as running:
        yield running


def _scraped_everything(server: PrometheusServer, expected: set[str]) -> None:
    present = {
        row["metric"]["__name__"]
        for row in server.query(f'group by (__name__) ({{job="{SCRAPE_JOB}"}})')
    }
    if missing := expected - present:
        raise NotYet(f"series not in Prometheus yet: {sorted(missing)[:5]}")
    if not server.query('{__name__=~"databricks:alert_threshold:.+"}'):
        raise NotYet("the alert thresholds are not recorded yet")
    scrapes = server.value(f'count_over_time(up{{job="{SCRAPE_JOB}"}}[1m])')
    if scrapes is None or scrapes < MIN_SCRAPES:
        raise NotYet(f"{scrapes} scrapes so far")


@pytest.fixture(scope="session")
def demo_prometheus(
    exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the demo exporter every second, the alert rules loaded.

    Built on the shared tests/prometheus_fixture.py, but for the whole session: starting the
    exporter and waiting for its series once keeps the per-panel tests fast.
    """
    expected = sample_names(exporter.metrics())
    target = ScrapeTarget(exporter.address, job=SCRAPE_JOB)
    workdir = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(workdir, [target], rule_files=[ALERTS]) as server:
        poll(lambda: _scraped_everything(server, expected), 30, "the exporter's series")
        yield server
