"""What the HTTP front may ask of the running exporter, without reaching into the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from databricks_exporter.exposition import Rendered


@dataclass(frozen=True)
class CollectorStatus:
    """One collector as the landing page shows it."""

    name: str
    enabled: bool
    interval: float
    #: Wall-clock seconds of the last finished refresh attempt, None before the first.
    last_attempt: float | None
    #: "success", an error kind (auth, timeout, table_missing, ...), or "pending".
    last_result: str
    last_success: float | None
    #: Wall-clock seconds of the next planned refresh, None while paused or disabled.
    next_refresh: float | None
    series: int
    #: Short human description of the last failure, never containing secrets.
    detail: str = ""


class ExporterState(Protocol):
    """The running exporter as the web front sees it."""

    def rendered(self) -> Rendered:
        """The current pre-rendered exposition."""

    def collectors(self) -> list[CollectorStatus]:
        """Status of every collector, enabled or not."""

    def ready(self) -> bool:
        """True once every enabled collector finished its first refresh attempt."""

    def scraped(self) -> None:
        """Record that the telemetry path was scraped (resumes refreshes after idle pause)."""
