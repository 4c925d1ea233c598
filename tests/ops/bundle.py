"""Reading the monitoring bundle: the rule file and the dashboards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .live import REPO

MONITORING = REPO / "monitoring"
ALERTS = MONITORING / "alerts.yml"
RULE_TESTS = sorted((MONITORING / "tests").glob("*.yml"))
DASHBOARD_FILES = sorted((MONITORING / "dashboards").glob("*.json"))


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return groups


def alerts() -> list[dict[str, Any]]:
    """Every alerting rule of the rule file."""
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recordings() -> list[dict[str, Any]]:
    """Every recording rule of the rule file (the thresholds)."""
    return [rule for group in rule_groups() for rule in group["rules"] if "record" in rule]


@dataclass(frozen=True)
class Target:
    """One query of one dashboard panel."""

    dashboard: str
    panel_id: int
    title: str
    ref_id: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.dashboard}#{self.panel_id}{self.ref_id} {self.title}"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets() -> list[Target]:
    """Every panel query of every dashboard."""
    return [
        Target(path.name, panel["id"], panel["title"], target["refId"], target["expr"])
        for path in DASHBOARD_FILES
        for panel in panels_of(load(path))
        for target in panel.get("targets", [])
    ]
