"""Build a databricks-sdk `WorkspaceClient` whose every path is bounded in time.

Two SDK behaviours are taken over (client-notes 1.6-1.8):

* Retries. The SDK sleeps for Retry-After without looking at any deadline and resends a POST
  after a read timeout. Its retry loop sleeps through `Config.clock`; our clock raises
  `RetryRequested` instead of sleeping, so the SDK makes exactly one attempt per call and the
  warehouse client decides, within its own deadline, whether and when to try again.
* Authentication. A custom credentials strategy hands out tokens from our `TokenSource`
  (bounded POST to `/oidc/v1/token`, no discovery), so the secret never enters the SDK's
  `Config` and cannot show up in its debug strings.

The host-metadata probe in `Config.__init__` cannot be switched off; it runs with the short
`probe_timeout` and a one-second retry budget before the real HTTP timeout is set.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from databricks.sdk import WorkspaceClient
from databricks.sdk.clock import Clock
from databricks.sdk.config import Config
from databricks.sdk.credentials_provider import CredentialsStrategy

AUTH_TYPE = "oauth-m2m"
#: Retry budget of the host-metadata probe at construction (the SDK's minimum is 1 s).
PROBE_RETRY_BUDGET = 1


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
    return WorkspaceClient(config=config)
