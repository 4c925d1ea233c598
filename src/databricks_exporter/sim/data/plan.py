"""What one generation run is asked for: seed, preset, size factor and time anchors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from databricks_exporter.sim.data.catalog import (
    ACCOUNT_ID,
    BULK_WORKSPACES,
    EXPORTER_PRINCIPAL,
    USERS,
    Preset,
)
from databricks_exporter.sim.data.timeline import Anchors, micros

#: No bulk run or update lasts longer, so every run that ends inside a 24 h window started at
#: most 20 h before the window opened (the exporter scans 24 h of extra history).
MAX_SPAN = dt.timedelta(hours=20)


@dataclass(frozen=True)
class Plan:
    """The inputs every part of the generator reads."""

    seed: int
    preset: Preset
    factor: float
    anchors: Anchors

    @property
    def workspaces(self) -> tuple[str, ...]:
        """The bulk workspaces of this preset."""
        return BULK_WORKSPACES[: self.preset.workspaces]

    def since(self, span: dt.timedelta) -> int:
        """Microseconds since the epoch of `now - span`."""
        return micros(self.anchors.now - span)

    def params(self) -> dict[str, object]:
        """The one row of the `gen_params` table the bulk SQL reads."""
        preset, anchors = self.preset, self.anchors
        return {
            "seed": self.seed,
            "account_id": ACCOUNT_ID,
            "now_us": micros(anchors.now),
            "hour_us": micros(anchors.hour),
            "day_us": micros(anchors.day),
            "job_start_us": self.since(preset.job_history),
            "pipe_start_us": self.since(preset.pipeline_history),
            "query_start_us": self.since(preset.query_history),
            "max_span_us": MAX_SPAN // dt.timedelta(microseconds=1),
            "users": list(USERS),
            "exporter_principal": EXPORTER_PRINCIPAL,
        }
