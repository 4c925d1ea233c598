"""Shared fixtures: one demo exporter and one Prometheus scraping it, for the whole session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .live import (
    REPO,
    SCRAPE_JOB,
    Exporter,
    NotYet,
    Prometheus,
    running_exporter,
    running_prometheus,
    wait_for,
)

ALERTS = REPO / "monitoring" / "alerts.yml"
#: Scrapes to wait for, so range functions over the last minute see more than one sample.
MIN_SCRAPES = 3


def sample_names(exposition: str) -> set[str]:
    """Names of every sample in an exposition (counters with their `_total`)."""
    return {
        sample.name
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def require_prometheus() -> None:
    """Skip, with the reason, when the Prometheus binaries are not installed."""
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} not on PATH (.ci/run installs Debian's prometheus package)")


@pytest.fixture(scope="session")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    """`databricks-exporter --demo` on a free loopback port, every collector refreshed once."""
    with running_exporter(tmp_path_factory.mktemp("exporter")) as running:
        yield running


def _scraped_everything(prometheus: Prometheus, expected: set[str]) -> None:
    present = {
        row["metric"]["__name__"]
        for row in prometheus.query(f'group by (__name__) ({{job="{SCRAPE_JOB}"}})')
    }
    if missing := expected - present:
        raise NotYet(f"series not in Prometheus yet: {sorted(missing)[:5]}")
    scrapes = prometheus.query(f'count_over_time(up{{job="{SCRAPE_JOB}"}}[1m])')
    if not scrapes or float(scrapes[0]["value"][1]) < MIN_SCRAPES:
        raise NotYet("fewer than 3 scrapes so far")


@pytest.fixture(scope="session")
def prometheus(
    exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """A real Prometheus scraping the exporter every second with the alert rules loaded."""
    require_prometheus()
    expected = sample_names(exporter.metrics())
    workdir = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(workdir, exporter.address, (ALERTS,)) as server:
        wait_for(
            lambda: _scraped_everything(server, expected), 30, "the exporter's series in Prometheus"
        )
        yield server
