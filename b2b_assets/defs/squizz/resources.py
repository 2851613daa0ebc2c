"""SquizzResource: one SQUIZZ API session per process, reused by every squizz/* asset it runs, destroyed at the end.

Every job runs in process (definitions.py), so that is one session per run, from the CLI and the UI
alike; an executor with a process per step would open one per step.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from b2b_assets import settings
from b2b_assets.targets.squizz.client import CREDENTIAL_ENV_NAMES, SquizzClient, squizz_retry


class SquizzResource(dg.ConfigurableResource):
    """SQUIZZ.com Platform API (create_session, import_esd, destroy_session); credentials from env vars only."""

    base_url: str
    org_id: str
    api_key: str
    api_password: str
    timeout_seconds: float = 30
    # Transient faults are retried for this long per call, with jittered backoff (targets/core/http.py).
    retry_budget_seconds: float = 300
    backoff_factor: float = 0.5

    _client: SquizzClient | None = PrivateAttr(default=None)

    def client(self) -> SquizzClient:
        if self._client is None:
            self._client = SquizzClient(self.base_url, self.org_id, self.api_key, self.api_password,
                                        timeout=self.timeout_seconds,
                                        retry=squizz_retry(budget_seconds=self.retry_budget_seconds,
                                                           backoff_factor=self.backoff_factor))
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()  # destroys the session
            self._client = None


def default_squizz() -> SquizzResource:
    org_var, key_var, password_var = CREDENTIAL_ENV_NAMES
    return SquizzResource(
        base_url=os.environ.get("SQUIZZ_API_URL", f"{settings.SANDBOX_URL}/squizz"),
        org_id=dg.EnvVar(org_var), api_key=dg.EnvVar(key_var), api_password=dg.EnvVar(password_var),
    )
