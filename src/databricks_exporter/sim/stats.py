"""Counters of what the simulated warehouse did, for `GET /admin/stats` and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

OUTCOMES = ("succeeded", "failed", "canceled")
_MAX_TAG_VALUES = 1000


class Stats:
    """Thread-safe counters; `snapshot()` is the JSON of `GET /admin/stats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self._tag_in_flight: Counter[tuple[str, str]] = Counter()
        self._reset()

    def _reset(self) -> None:
        self._counts: Counter[str] = Counter()
        self._engine_seconds = 0.0
        self._peak = self.in_flight
        self._faults: Counter[str] = Counter()
        self._by_tag: dict[str, dict[str, Counter[str]]] = {}
        self._tag_seconds: dict[tuple[str, str], float] = {}
        self._tag_peak: dict[tuple[str, str], int] = dict(self._tag_in_flight)

    def reset(self) -> None:
        """Zero every counter (statements in flight stay counted)."""
        with self._lock:
            self._reset()

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a plain counter (`tokens_issued`, `api_requests`, ...)."""
        with self._lock:
            self._counts[name] += amount

    def fault(self, name: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[name] += 1

    def engine(self, seconds: float, tags: Mapping[str, str]) -> None:
        """Add DuckDB execution time, also per tag."""
        with self._lock:
            self._engine_seconds += seconds
            for pair in self._tag_keys(tags):
                self._tag_seconds[pair] = self._tag_seconds.get(pair, 0.0) + seconds

    def started(self, tags: Mapping[str, str]) -> None:
        """A statement was accepted and is now in flight."""
        with self._lock:
            self._counts["received"] += 1
            self.in_flight += 1
            self._peak = max(self._peak, self.in_flight)
            self._tag("received", tags)
            for pair in self._tag_keys(tags):
                self._tag_in_flight[pair] += 1
                self._tag_peak[pair] = max(self._tag_peak.get(pair, 0), self._tag_in_flight[pair])

    def finished(self, outcome: str, tags: Mapping[str, str]) -> None:
        """A statement reached a terminal state."""
        with self._lock:
            self._counts[outcome] += 1
            self.in_flight -= 1
            self._tag(outcome, tags)
            for pair in self._tag_keys(tags):
                self._tag_in_flight[pair] -= 1
                if self._tag_in_flight[pair] <= 0:
                    del self._tag_in_flight[pair]

    def _tag_keys(self, tags: Mapping[str, str]) -> list[tuple[str, str]]:
        pairs = []
        for key, value in tags.items():
            values = self._by_tag.setdefault(key, {})
            crowded = value not in values and len(values) >= _MAX_TAG_VALUES
            pairs.append((key, "__other__" if crowded else value))
        return pairs

    def _tag(self, outcome: str, tags: Mapping[str, str]) -> None:
        for key, value in self._tag_keys(tags):
            self._by_tag[key].setdefault(value, Counter())[outcome] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter as JSON-ready data."""
        with self._lock:
            statements = {name: self._counts[name] for name in ("received", *OUTCOMES)}
            statements["rejected"] = self._counts["rejected"]
            statements["closed"] = self._counts["closed"]
            return {
                "statements": statements,
                "engine_seconds": round(self._engine_seconds, 6),
                "in_flight": self.in_flight,
                "peak_in_flight": self._peak,
                "tokens_issued": self._counts["tokens_issued"],
                "token_requests_refused": self._counts["token_requests_refused"],
                "api_requests": self._counts["api_requests"],
                "api_requests_refused": self._counts["api_requests_refused"],
                "chunks_served": self._counts["chunks_served"],
                "faults_injected": dict(self._faults),
                "by_tag": self._tags_json(),
            }

    def _tags_json(self) -> dict[str, dict[str, dict[str, float]]]:
        out: dict[str, dict[str, dict[str, float]]] = {}
        for key, values in self._by_tag.items():
            for value, counts in values.items():
                entry: dict[str, float] = {n: counts[n] for n in ("received", *OUTCOMES)}
                entry["engine_seconds"] = round(self._tag_seconds.get((key, value), 0.0), 6)
                entry["peak_in_flight"] = self._tag_peak.get((key, value), 0)
                out.setdefault(key, {})[value] = entry
        return out
