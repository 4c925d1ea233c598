"""Build a databricks-sdk `WorkspaceClient` whose every path is bounded in time.

Two SDK behaviours are taken over (client-notes 1.6-1.8):

* Retries. The SDK sleeps for Retry-After without looking at any deadline and resends a POST
  after a read timeout. Its retry loop sleeps through `Config.clock`; our clock raises
  `RetryRequested` instead of sleeping, so the SDK makes exactly one attempt per call and the
  warehouse client decides, within its own deadline, whether and when to try again.
* Authentication. A custom credentials strategy hands out tokens from our `TokenSource`
  (bounded POST to `/oidc/v1/token`, no discovery), so the secret never enters the SDK's
  `Config` and cannot show up in its debug strings.

* Request timeouts. The SDK gives every request the same fixed timeout. An adapter mounted on
  its session cuts each request's timeout down to the calling thread's time left
  (`calls.request_deadline`).

The host-metadata probe in `Config.__init__` cannot be switched off; it runs with the short
`probe_timeout` and a one-second retry budget before the real HTTP timeout is set.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.clock import Clock
from databricks.sdk.config import Config
from databricks.sdk.credentials_provider import CredentialsStrategy
from requests.adapters import HTTPAdapter

from databricks_exporter.logs import get_logger
from databricks_exporter.warehouse.calls import Timeout, capped_timeout

log = get_logger("warehouse")

AUTH_TYPE = "oauth-m2m"
#: Retry budget of the host-metadata probe at construction (the SDK's minimum is 1 s).
PROBE_RETRY_BUDGET = 1
#: Connection pool of the SDK's own adapter, kept when ours replaces it.
POOL_SIZE = 20


class RetryRequested(Exception):
    """The SDK wanted to retry after `cause`; raised instead of its sleep."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"retry requested after {type(cause).__name__}")
        self.cause = cause


class _HandBackClock(Clock):
    """A clock whose sleep hands the retry decision back to the caller."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        # The SDK sleeps inside its `except` block, so the error it would retry is current.
        cause = sys.exc_info()[1]
        raise RetryRequested(cause if cause is not None else TimeoutError("retry"))


class _TokenStrategy(CredentialsStrategy):
    """OAuth M2M through a header factory we own."""

    def __init__(self, headers: Callable[[], dict[str, str]]) -> None:
        self._headers = headers

    def auth_type(self) -> str:
        return AUTH_TYPE

    def __call__(self, cfg: Config) -> Callable[[], dict[str, str]]:
        return self._headers


class _DeadlineAdapter(HTTPAdapter):
    """Sends with a timeout no longer than the calling thread's time left."""

    def send(  # noqa: PLR0917  (requests' own signature)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, capped_timeout(timeout), verify, cert, proxies)


def bound_requests(client: WorkspaceClient) -> bool:
    """Mount the deadline adapter on the client's session; False if the SDK hides it."""
    session = getattr(getattr(client.api_client, "_api_client", None), "_session", None)
    if not isinstance(session, requests.Session):
        log.warning("cannot bound SDK requests by the deadline; they use the HTTP timeout")
        return False
    adapter = _DeadlineAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE, pool_block=True)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return True


def build_client(
    host: str,
    client_id: str,
    headers: Callable[[], dict[str, str]],
    *,
    http_timeout: float,
    probe_timeout: float,
    product: str,
    version: str,
) -> WorkspaceClient:
    """A WorkspaceClient for `host`; takes at most about `probe_timeout` + 2 s to build."""
    config = Config(
        host=host,
        client_id=client_id,
        auth_type=AUTH_TYPE,
        credentials_strategy=_TokenStrategy(headers),
        http_timeout_seconds=probe_timeout,
        retry_timeout_seconds=PROBE_RETRY_BUDGET,
        clock=_HandBackClock(),
        product=product,
        product_version=version,
    )
    config.http_timeout_seconds = http_timeout  # read by the API client built below
    client = WorkspaceClient(config=config)
    bound_requests(client)
    return client
