"""HTTP Basic authentication against bcrypt hashes, with a cache so scrapes skip bcrypt.

The cache holds, per user, an HMAC (keyed with a random per-process key) of the user name, the
password and the bcrypt hash that verified it; never the password. A changed password or a
changed hash gives a different HMAC, so it is verified again. Comparisons use
`hmac.compare_digest`; bcrypt runs off the event loop, one at a time, as the toolkit does.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import bcrypt

REALM = "databricks-exporter"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


@dataclass(frozen=True)
class Credentials:
    """What a client sent; `password` stays bytes and is never logged."""

    user: str
    password: bytes

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='***')"


def parse_basic(header: str | None) -> Credentials | None:
    """Credentials from an `Authorization: Basic ...` header, None if absent or malformed."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii"), strict_mode=True)
        user_bytes, colon, password = decoded.partition(b":")
        user = user_bytes.decode("utf-8")
    except (binascii.Error, UnicodeError):
        return None
    return Credentials(user, password) if colon else None


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # longer than bcrypt's 72 bytes, or a hash bcrypt refuses
        return False


class BasicAuth:
    """Verifies credentials against the configured users; one instance per server."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        #: How many bcrypt verifications ran (the cache's effect shows here).
        self.bcrypt_runs = 0

    def _digest(self, credentials: Credentials, hashed: bytes) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (credentials.user.encode("utf-8"), credentials.password, hashed):
            mac.update(len(part).to_bytes(4, "big"))
            mac.update(part)
        return mac.digest()

    def _cached(self, user: str, digest: bytes) -> bool:
        return hmac.compare_digest(self._verified.get(user, b""), digest)

    async def verify(self, credentials: Credentials, users: Mapping[str, bytes]) -> bool:
        """True when the user exists and the password matches its hash."""
        if not users:
            return False
        hashed = users.get(credentials.user)
        # Unknown users are checked against a real hash so timing does not reveal them.
        reference = hashed if hashed is not None else next(iter(users.values()))
        digest = self._digest(credentials, reference)
        if hashed is not None and self._cached(credentials.user, digest):
            return True
        async with self._lock:
            if hashed is not None and self._cached(credentials.user, digest):
                return True
            matched = await asyncio.to_thread(_checkpw, credentials.password, reference)
            self.bcrypt_runs += 1
        if matched and hashed is not None:
            self._verified[credentials.user] = digest
            return True
        return False

    def retain(self, users: Mapping[str, bytes]) -> None:
        """Forget cached verifications of users no longer configured."""
        for user in [user for user in self._verified if user not in users]:
            del self._verified[user]


class RateLimiter:
    """A token bucket: `burst` requests at once, refilled one per `interval` seconds."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval, self.burst = interval, burst
        self._tokens = float(burst)
        self._updated = time.monotonic()

    def allow(self) -> bool:
        """Take a token if one is left."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) / self.interval)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
