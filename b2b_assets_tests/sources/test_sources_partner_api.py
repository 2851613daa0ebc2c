"""The partner API client against the partner sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import PartnerApiClient, PartnerApiError, prepare
from b2b_assets.targets.core.http import RetryPolicy

TOKEN = "s3cret-partner-token"
ORGS = [
    {"organization_number": "CUST-1001", "organization_name": "Example Jewelers", "status": "active",
     "sales_incentive": True, "sales_rep_email": "rep@example.com", "updated_at": "2026-01-01T10:00:00Z"},
    {"organization_number": "CUST-1002", "organization_name": "Second Shop", "status": "inactive",
     "updated_at": "2026-01-02T10:00:00.250000Z"},
]


@pytest.fixture
def sandbox():
    with start_sandboxes(partner_token=TOKEN) as running:
        yield running


def admin(sandbox, route: str, payload: dict) -> None:
    response = requests.post(f"{sandbox.base_url}/partner/_admin/{route}", json=payload, timeout=10)
    response.raise_for_status()


def client_for(sandbox, token: str | None = TOKEN, budget_seconds: float = 20) -> PartnerApiClient:
    retry = RetryPolicy(budget_seconds=budget_seconds, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.01)
    return PartnerApiClient(f"{sandbox.base_url}/partner", token, retry=retry)


def test_full_fetch_feeds_prepare(sandbox):
    admin(sandbox, "records", {"organizations": ORGS})
    with client_for(sandbox) as client:
        frame, cursor = client.fetch("organizations")
    assert frame["organization_number"].tolist() == ["CUST-1001", "CUST-1002"]
    assert frame["_source"].iloc[0] == "partner_api/organizations" and frame["_row"].tolist() == [1, 2]
    assert cursor == "2026-01-02T10:00:00.250000Z"
    prepared = prepare("organizations", frame)
    assert prepared.issues.empty
    incentive = prepared.valid["sales_incentive"]
    assert bool(incentive.iloc[0]) is True and pd.isna(incentive.iloc[1])  # JSON true; absent stays unknown
    assert prepared.valid["status"].tolist() == ["active", "inactive"]


def test_incremental_fetch_with_updated_since(sandbox):
    admin(sandbox, "records", {"organizations": ORGS})
    with client_for(sandbox) as client:
        _, cursor = client.fetch("organizations")
        admin(sandbox, "records", {"organizations": [
            {"organization_number": "CUST-1003", "organization_name": "New", "updated_at": "2026-02-01T00:00:00Z"}]})
        frame, next_cursor = client.fetch("organizations", since=cursor)
        assert frame["organization_number"].tolist() == ["CUST-1003"]
        assert next_cursor == "2026-02-01T00:00:00Z"
        empty, none_cursor = client.fetch("organizations", since=next_cursor)
    assert empty.empty and none_cursor is None
    served = requests.get(f"{sandbox.base_url}/partner/_admin/stats", timeout=10).json()["requests"]
    assert [r["updated_since"] for r in served] == [None, cursor, next_cursor]


def test_retries_through_scripted_429_and_5xx(sandbox):
    admin(sandbox, "records", {"users": [{"organization_number": "C-1", "user_id": "U-1", "name": "A",
                                          "email": "a@x.com"}]})
    admin(sandbox, "faults", {"sequence": ["429", "500", "503", "502"], "retry_after_seconds": 0})
    with client_for(sandbox) as client:
        frame, _ = client.fetch("users")
    assert frame["user_id"].tolist() == ["U-1"]
    stats = requests.get(f"{sandbox.base_url}/partner/_admin/stats", timeout=10).json()
    assert sum(stats["faults_injected"].values()) == 4


def test_retries_through_random_faults(sandbox):
    admin(sandbox, "records", {"locations": [{"organization_number": "C-1", "location_id": "L-1",
                                              "address1": "1 Main", "city": "Oslo"}]})
    admin(sandbox, "faults", {"rate_limit": 0.3, "server_error": 0.2, "retry_after_seconds": 0, "seed": 1})
    with client_for(sandbox) as client:
        for _ in range(5):
            frame, _ = client.fetch("locations")
            assert frame["location_id"].tolist() == ["L-1"]


def test_retry_after_is_honoured(sandbox):
    admin(sandbox, "faults", {"sequence": ["429"], "retry_after_seconds": 1})
    started = time.monotonic()
    with client_for(sandbox) as client:
        client.fetch("organizations")
    assert time.monotonic() - started >= 0.9


def test_gives_up_after_retries_with_a_clear_error(sandbox):
    admin(sandbox, "faults", {"sequence": ["503"] * 500})
    with client_for(sandbox, budget_seconds=0.3) as client, pytest.raises(PartnerApiError) as caught:
        client.fetch("organizations")
    assert "HTTP 503" in str(caught.value) and "after retries" in str(caught.value)
    assert "/partner/organizations" in str(caught.value)


def test_auth_failure_never_shows_the_token(sandbox):
    wrong = "wrong-token-value-123"
    with client_for(sandbox, token=wrong) as client, pytest.raises(PartnerApiError) as caught:
        client.fetch("organizations")
    message = str(caught.value)
    assert "HTTP 401" in message and "check the API token" in message
    assert wrong not in message and TOKEN not in message and wrong not in repr(client)
    with client_for(sandbox, token=None) as client, pytest.raises(PartnerApiError, match="none is configured"):
        client.fetch("users")


def test_unreachable_server_is_a_clear_error():
    with start_sandboxes() as running:
        url = f"{running.base_url}/partner"
    client = PartnerApiClient(url, TOKEN, retry=RetryPolicy(budget_seconds=0.3, backoff_jitter=0.01), timeout=2)
    with pytest.raises(PartnerApiError) as caught:
        client.fetch("organizations")
    assert "GET " in str(caught.value) and TOKEN not in str(caught.value)


def test_unknown_entity_is_refused():
    with pytest.raises(ValueError, match="organizations, locations, users"):
        PartnerApiClient("http://127.0.0.1:9").fetch("products")
