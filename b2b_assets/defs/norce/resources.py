"""NorceResource: one Norce Connect client, and so one access token, for every norce/* asset of a run."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from b2b_assets import settings
from b2b_assets.targets.norce.client import NorceClient, default_retry

CLIENT_ID_VARIABLE = "NORCE_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "NORCE_CLIENT_SECRET"
APPLICATION_KEY_VARIABLE = "NORCE_APPLICATION_KEY"


class NorceResource(dg.ConfigurableResource):
    """Norce Commerce Connect (OAuth2 client credentials, Customer imports, Job/Get); secrets from env vars only."""

    base_url: str
    client_id: str
    client_secret: str
    application_key: str  # the Norce application companies and accounts belong to (not a secret)
    account_id: int = 1  # the system account that initiates imports
    serialization: str = "JSON"  # or XML (integer enums)
    mirror_relations: bool = False  # true: relations the hub lacks are deactivated in Norce (list-delta off)
    poll_interval_seconds: float = 2.0
    timeout_seconds: float = 30
    # Transient faults are retried for this long per call, with jittered backoff (targets/core/http.py).
    retry_budget_seconds: float = 300
    backoff_factor: float = 0.5

    _client: NorceClient | None = PrivateAttr(default=None)

    def client(self) -> NorceClient:
        if self._client is None:
            self._client = NorceClient(self.base_url, self.client_id, self.client_secret, account_id=self.account_id,
                                       serialization=self.serialization, timeout=self.timeout_seconds,
                                       retry=default_retry(self.retry_budget_seconds, self.backoff_factor))
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def default_norce() -> NorceResource:
    return NorceResource(
        base_url=os.environ.get("NORCE_API_URL", f"{settings.SANDBOX_URL}/norce"),
        client_id=dg.EnvVar(CLIENT_ID_VARIABLE), client_secret=dg.EnvVar(CLIENT_SECRET_VARIABLE),
        application_key=dg.EnvVar(APPLICATION_KEY_VARIABLE),
    )
