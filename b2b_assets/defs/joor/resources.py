"""JoorResource: the Bulk Connection API client for every joor/* asset; the token from JOOR_API_TOKEN only."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from b2b_assets import settings
from b2b_assets.targets.joor.client import TOKEN_ENV_NAME, JoorClient, retrying_session
from b2b_assets.targets.joor.credits import CREDITS_PER_WINDOW, WINDOW_SECONDS, shared_budget
from b2b_assets.targets.joor.encoding import JSON


class JoorResource(dg.ConfigurableResource):
    """JOOR Bulk Connection API v2 (POST and GET /v2/bulk-connection), JSON or XML, within JOOR's credits."""

    base_url: str
    token: str
    media_type: str = JSON  # or application/xml
    poll_interval_seconds: float = 5.0  # between polls of an open job
    credits_per_window: int = CREDITS_PER_WINDOW
    window_seconds: float = WINDOW_SECONDS
    credit_wait_seconds: float = 330.0  # how long a call waits for credits before the run leaves the rest
    timeout_seconds: float = 30.0
    # Transient faults are retried for this long per call, with jittered backoff (targets/core/http.py).
    retry_budget_seconds: float = 300
    backoff_factor: float = 0.5

    _client: JoorClient | None = PrivateAttr(default=None)

    def client(self) -> JoorClient:
        if self._client is None:
            self._client = JoorClient(
                self.base_url, self.token, media=self.media_type, timeout=self.timeout_seconds,
                session=retrying_session(self.retry_budget_seconds, self.backoff_factor),
                budget=shared_budget(self.base_url, self.token, self.credits_per_window, self.window_seconds),
                credit_wait_seconds=self.credit_wait_seconds, token_env_name=TOKEN_ENV_NAME)
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def default_joor() -> JoorResource:
    return JoorResource(
        base_url=os.environ.get("JOOR_API_URL", f"{settings.SANDBOX_URL}/joor"),
        token=dg.EnvVar(TOKEN_ENV_NAME),
        media_type=os.environ.get("JOOR_MEDIA_TYPE", JSON),
    )
