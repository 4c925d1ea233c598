"""Re-reading the web config without a restart.

Every `interval` seconds the config file and the files it names (certificate, key, client CA)
are fingerprinted by content. On a change the file is loaded and validated in full; a good new
version is applied to the requests and connections that follow, a broken one is logged and the
last good version stays in force. Switching TLS on or off needs a restart (the listeners were
created for one or the other) and is refused the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from databricks_exporter.logs import get_logger
from databricks_exporter.web.config import WebConfig, load_web_config
from databricks_exporter.web.errors import WebConfigError

log = get_logger("web")
Fingerprint = tuple[tuple[str, str], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """Content hash of each file (`missing` when unreadable), so any rewrite is noticed."""
    prints = []
    for path in paths:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = "missing"
        prints.append((str(path), digest))
    return tuple(prints)


class ConfigWatcher:
    """Watches one web config file and hands each good new version to `apply`."""

    def __init__(
        self,
        current: WebConfig,
        apply: Callable[[WebConfig], None],
        interval: float,
    ) -> None:
        if current.path is None:
            raise ValueError("only a config read from a file can be watched")
        self.path = current.path
        self.current = current
        self._apply = apply
        self._interval = interval
        self._seen = fingerprint(current.files())

    async def run(self) -> None:
        """Check for changes until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception:  # a bug here must not stop future reloads
                log.error("web config check failed", exc_info=True, file=str(self.path))

    async def check(self) -> bool:
        """Reload if something changed; True when a new config was applied."""
        loaded = await asyncio.to_thread(self._load_if_changed)
        if loaded is None:
            return False
        if isinstance(loaded, WebConfigError):
            log.error(
                "web config reload failed; the previous config stays in force",
                file=str(self.path),
                err=str(loaded),
            )
            return False
        self.current = loaded
        self._apply(loaded)
        log.info(
            "web config reloaded",
            file=str(self.path),
            tls=loaded.tls is not None,
            users=len(loaded.users),
        )
        return True

    def _load_if_changed(self) -> WebConfig | WebConfigError | None:
        """Runs in a thread: fingerprint, and on change load and validate the new config."""
        now = fingerprint(self.current.files())
        if now == self._seen:
            return None
        self._seen = now
        try:
            config = load_web_config(self.path)
        except WebConfigError as error:
            return error
        if (config.tls is None) != (self.current.tls is None):
            return WebConfigError(
                "tls_server_config", "turning TLS on or off needs a restart of the exporter"
            )
        self._seen = fingerprint(config.files())
        return config
