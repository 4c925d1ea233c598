"""OAuth M2M client credentials in bounded time: one POST to `{host}/oidc/v1/token`, cached.

The SDK's own M2M path first runs OIDC discovery with a 5-minute retry budget that ignores our
timeouts, then posts for the token with no timeout at all (client-notes 1.7). This module
replaces both: the token endpoint is the documented workspace path, every request has a
connect and a read timeout, and the secret is read afresh for every token so a rotated
`--client-secret-file` takes effect without a restart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from databricks_exporter.logs import redact, register_secret
from databricks_exporter.settings import Secret
from databricks_exporter.warehouse.calls import capped_timeout
from databricks_exporter.warehouse.classify import describe_network
from databricks_exporter.warehouse.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ServerError,
    ThrottledError,
)

TOKEN_PATH = "/oidc/v1/token"  # noqa: S105  (a URL path, not a password)
#: Seconds to connect to and to hear back from the token endpoint.
TOKEN_TIMEOUT = (5.0, 10.0)
#: Refresh a token this long before it expires (at most half its lifetime).
REFRESH_MARGIN = 300.0
_SERVER_ERROR = 500
_THROTTLED = 429


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # time.monotonic()


class TokenSource:
    """Fetches and caches a bearer token for a service principal; safe from many threads."""

    def __init__(self, host: str, client_id: str, secret: Secret) -> None:
        self._url = host.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._secret = secret
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def headers(self) -> dict[str, str]:
        """The Authorization header for an API call (the SDK's header factory)."""
        return {"Authorization": f"Bearer {self.token()}"}

    def token(self) -> str:
        """A live access token, fetched when none is cached or the cached one is ageing."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._token.refresh_at:
                self._token = self._fetch()
            return self._token.value

    def mask(self, text: str) -> str:
        """`text` with the cached token, if any, replaced by `***`."""
        token = self._token
        return text.replace(token.value, "***") if token is not None else text

    def invalidate(self) -> None:
        """Forget the cached token so the next call fetches a new one."""
        with self._lock:
            self._token = None

    def close(self) -> None:
        """Release the HTTP connections."""
        self._session.close()

    def _fetch(self) -> _Token:
        secret = self._read_secret()
        started = time.monotonic()
        try:
            response = self._session.post(
                self._url,
                data={"grant_type": "client_credentials", "scope": "all-apis"},
                auth=(self._client_id, secret),
                headers={"Accept": "application/json"},
                timeout=capped_timeout(TOKEN_TIMEOUT),
            )
        except requests.RequestException as error:
            reason = describe_network(error)
            raise ConnectionFailedError(f"token endpoint {self._url}: {reason}") from None
        return _parse(self._url, response, started)

    def _read_secret(self) -> str:
        try:
            secret = self._secret.reveal()
        except OSError as error:
            raise AuthenticationError(
                f"cannot read the client secret ({self._secret!r}): {error.strerror}"
            ) from None
        if not secret:
            raise AuthenticationError(f"the client secret is empty ({self._secret!r})")
        register_secret(secret)
        return secret


def _parse(url: str, response: requests.Response, started: float) -> _Token:
    status = response.status_code
    body = _json(response)
    if status == _THROTTLED:
        retry_after = _retry_after(response)
        raise ThrottledError(f"token endpoint {url}: HTTP 429", retry_after=retry_after)
    if status >= _SERVER_ERROR:
        raise ServerError(f"token endpoint {url}: HTTP {status}")
    if not response.ok:
        raise AuthenticationError(
            f"token endpoint {url} refused the client credentials: "
            f"HTTP {status} {_oauth_error(body)}; "
            "check --client-id and --client-secret (or --client-secret-file)"
        )
    token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
    if not isinstance(token, str) or not token or not _is_number(lifetime):
        raise ServerError(f"token endpoint {url}: HTTP {status} without an access_token")
    margin = min(REFRESH_MARGIN, float(lifetime) / 2)
    return _Token(token, started + float(lifetime) - margin)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _oauth_error(body: dict[str, Any]) -> str:
    error = str(body.get("error") or "").strip()
    description = str(body.get("error_description") or "").strip()
    text = f"{error}: {description}" if error and description else error or description
    return redact(text[:200]) or "(no error description)"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _is_number(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False
