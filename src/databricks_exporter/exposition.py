"""Pre-rendered exposition: bytes built once per refresh, served as they are on every scrape.

Each collector's families are rendered once (text 0.0.4 and OpenMetrics) into a `Part` when
its refresh completes. `Exposition.publish` joins the parts, gzips each body once, and swaps
in a new immutable `Rendered`; the HTTP handler only picks bytes from it.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_EOF = b"# EOF\n"
GZIP_LEVEL = 6
#: Accept / Accept-Encoding values whose outcome is remembered: a scraper sends the same ones.
_NEGOTIATED = 64


class _Families:
    """The minimal registry shape prometheus-client's renderers accept."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = tuple(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


@dataclass(frozen=True)
class Part:
    """One source's families, rendered in both formats (OpenMetrics without `# EOF`)."""

    text: bytes
    openmetrics: bytes
    series: int = 0

    @classmethod
    def render(cls, families: Iterable[Metric]) -> Part:
        """Render families once; call this off the event loop for large snapshots."""
        source = _Families(families)
        openmetrics = generate_openmetrics(source)  # type: ignore[no-untyped-call]
        series = sum(len(family.samples) for family in source.collect())
        return cls(
            text=generate_text(source),
            openmetrics=openmetrics.removesuffix(_EOF),
            series=series,
        )


EMPTY = Part(b"", b"")


@dataclass(frozen=True)
class Body:
    """One ready response body."""

    data: bytes
    content_type: str
    gzipped: bool


@dataclass(frozen=True)
class Rendered:
    """The four bodies a scrape may ask for."""

    text: bytes
    text_gzip: bytes
    openmetrics: bytes
    openmetrics_gzip: bytes
    _bodies: tuple[Body, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bodies = (
            Body(self.text, TEXT_CONTENT_TYPE, False),
            Body(self.text_gzip, TEXT_CONTENT_TYPE, True),
            Body(self.openmetrics, OPENMETRICS_CONTENT_TYPE, False),
            Body(self.openmetrics_gzip, OPENMETRICS_CONTENT_TYPE, True),
        )
        object.__setattr__(self, "_bodies", bodies)  # built once, not on every scrape

    def body(self, *, openmetrics: bool, gzipped: bool) -> Body:
        """Pick the body for the negotiated format and encoding."""
        return self._bodies[2 * openmetrics + gzipped]


def compose(parts: Iterable[Part]) -> Rendered:
    """Join parts into full bodies and gzip each once."""
    chosen = tuple(parts)
    text = b"".join(part.text for part in chosen)
    openmetrics = b"".join(part.openmetrics for part in chosen) + _EOF
    return Rendered(
        text=text,
        text_gzip=gzip.compress(text, GZIP_LEVEL, mtime=0),
        openmetrics=openmetrics,
        openmetrics_gzip=gzip.compress(openmetrics, GZIP_LEVEL, mtime=0),
    )


@functools.lru_cache(maxsize=_NEGOTIATED)
def wants_openmetrics(accept: str | None) -> bool:
    """Content negotiation: OpenMetrics when the client lists it in Accept, else text 0.0.4."""
    if not accept:
        return False
    for item in accept.split(","):
        media, *params = (piece.strip() for piece in item.split(";"))
        if media.lower() != "application/openmetrics-text":
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        version = next((p[8:] for p in params if p.lower().startswith("version=")), "1.0.0")
        try:
            if float(q) > 0 and version in ("1.0.0", "0.0.1"):
                return True
        except ValueError:
            continue
    return False


@functools.lru_cache(maxsize=_NEGOTIATED)
def wants_gzip(accept_encoding: str | None) -> bool:
    """Whether the client accepts gzip (and did not refuse it with q=0)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.split(","):
        coding, *params = (piece.strip() for piece in item.split(";"))
        if coding.lower() in ("gzip", "x-gzip", "*"):
            q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


class Exposition:
    """Holds the current rendered bodies; swapped atomically, read without locks."""

    def __init__(self) -> None:
        self._parts: dict[str, Part] = {}
        self._order: tuple[str, ...] = ()
        self.current: Rendered = compose(())
        self._lock = asyncio.Lock()

    def set_order(self, names: Iterable[str]) -> None:
        """Fix the order in which parts appear in the body."""
        self._order = tuple(names)

    async def publish(self, updates: Mapping[str, Part | None]) -> None:
        """Replace (or drop, with None) some parts and render new bodies off the loop."""
        async with self._lock:
            for name, part in updates.items():
                if part is None:
                    self._parts.pop(name, None)
                else:
                    self._parts[name] = part
            order = self._order + tuple(sorted(set(self._parts) - set(self._order)))
            parts = [self._parts[name] for name in order if name in self._parts]
            self.current = await asyncio.to_thread(compose, parts)

    def series(self) -> dict[str, int]:
        """Series count per part."""
        return {name: part.series for name, part in self._parts.items()}
