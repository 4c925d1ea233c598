"""OAuth M2M for the simulated workspace: client-credentials tokens with an expiry."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    """The one service principal the simulated workspace knows."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***')"

    def matches(self, client_id: str, client_secret: str) -> bool:
        """Compare in constant time, as a real token endpoint would."""
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return same_id and same_secret


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """The (id, secret) of an `Authorization: Basic ...` header, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


class TokenIssuer:
    """Issues opaque bearer tokens and checks them; expiry runs on real monotonic time."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A fresh token valid for `ttl` seconds."""
        token = "dsim-" + secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.ttl
        return token

    def valid(self, authorization: str | None) -> bool:
        """Whether an `Authorization: Bearer ...` header carries a live token."""
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            expiry = self._tokens.get(authorization[7:].strip())
        return expiry is not None and expiry > time.monotonic()

    def revoke_all(self) -> None:
        """Forget every token, as if the secret had been rotated."""
        with self._lock:
            self._tokens.clear()
