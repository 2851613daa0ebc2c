"""Resources shared by every area: the store and the source/target API connections."""

from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Iterator

import dagster as dg
from pydantic import PrivateAttr

from b2b_assets import settings
from b2b_assets.sources import PartnerApiClient
from b2b_assets.store import Store


def env_or(variable: str, default: str | None) -> str | dg.EnvVar | None:
    """dg.EnvVar when the variable is set (so its value stays out of run config), else the default."""
    return dg.EnvVar(variable) if os.environ.get(variable) else default


class StoreResource(dg.ConfigurableResource):
    """The hub store: canonical records, quarantine, held records, sync ledger (SQLite or PostgreSQL)."""

    url: str
    # How long a run waits for another run that is syncing the same target and entity, then fails naming it.
    lock_wait_seconds: float = 600.0

    _store: Store | None = PrivateAttr(default=None)

    def get(self) -> Store:
        if self._store is None:
            self._store = Store(self.url, lock_wait_seconds=self.lock_wait_seconds)
            self._store.create_all()
        return self._store


def default_store() -> StoreResource:
    return StoreResource(url=env_or("B2B_HUB_URL", settings.default_hub_url()),
                         lock_wait_seconds=float(os.environ.get("B2B_LOCK_WAIT_SECONDS", "600")))


class PartnerApiResource(dg.ConfigurableResource):
    """The vendor's GET API in seed 000's shape (/organizations, /locations, /users), when a mapping uses it."""

    base_url: str
    token: str | None = None

    @contextmanager
    def client(self) -> Iterator[PartnerApiClient]:
        with PartnerApiClient(self.base_url, self.token) as client:
            yield client


def default_partner_api() -> PartnerApiResource:
    return PartnerApiResource(
        base_url=os.environ.get("PARTNER_API_URL", f"{settings.SANDBOX_URL}/partner"),
        token=env_or("PARTNER_API_TOKEN", None),
    )
