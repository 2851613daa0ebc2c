"""The Connect client against the sandbox over HTTP: one token, refreshed on expiry or once on a 401."""

from __future__ import annotations

import logging

import pytest

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.norce.client import NorceAuthError, NorceClient, NorceError, default_retry
from b2b_assets.targets.norce.mapping import companies_payload

from .canonical import ENVELOPE, OPTIONS, canonical_frames


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def running():
    with start_sandboxes() as sandboxes:
        yield sandboxes


def documents():
    payload = companies_payload(canonical_frames(), OPTIONS)
    return payload.documents(payload.records, ENVELOPE)


def new_client(running, secret: str = "sandbox-secret", **kwargs) -> NorceClient:
    return NorceClient(f"{running.base_url}/norce", "sandbox-client", secret,
                       retry=default_retry(budget_seconds=5, backoff_factor=0), **kwargs)


def test_one_token_serves_every_call_and_a_401_refreshes_it_once(running) -> None:
    client = new_client(running)
    for _ in range(3):
        job_id = client.import_records("Company", documents())
        assert client.job(job_id).status_id == 2 and client.job_log(job_id)
    assert running.norce.stats()["tokens_issued"] == 1

    running.norce.revoke_tokens()  # e.g. Norce rotated its signing keys mid-run
    job_id = client.import_records("Company", documents())
    assert client.job(job_id).is_finished
    stats = running.norce.stats()
    assert stats["tokens_issued"] == 2 and stats["requests"]["ImportCompanies 401"] == 1
    assert client.tokens_fetched == 2


def test_a_token_is_renewed_before_it_expires_without_a_401(running) -> None:
    clock = Clock()
    client = new_client(running, clock=clock)
    client.import_records("Company", documents())
    clock.now += 3600 - 30  # inside the refresh margin
    client.import_records("Company", documents())
    stats = running.norce.stats()
    assert stats["tokens_issued"] == 2 and "ImportCompanies 401" not in stats["requests"]


def test_wrong_credentials_fail_fast_without_the_secret_in_the_error(running, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = new_client(running, secret="not-the-secret-xyz")
    with pytest.raises(NorceAuthError) as raised:
        client.import_records("Company", documents())
    assert "not-the-secret-xyz" not in str(raised.value) + repr(client) + caplog.text
    assert running.norce.stats()["imports"] == []


def test_a_token_refused_again_after_a_refresh_stops_the_run(running) -> None:
    client = new_client(running)
    client.import_records("Company", documents())
    running.norce.configure(token_ttl_seconds=0)  # every new token is born expired
    running.norce.revoke_tokens()
    with pytest.raises(NorceAuthError, match="freshly fetched token"):
        client.import_records("Company", documents())


def test_transport_faults_are_retried_and_a_bad_request_is_not(running) -> None:
    client = new_client(running)
    running.norce.set_faults({"sequence": ["503", "429", "drop"]})
    job_id = client.import_records("Company", documents())
    assert client.job(job_id).status_id == 2
    assert running.norce.stats()["faults_injected"] == {"server_error": 1, "rate_limit": 1, "drop": 1}
    with pytest.raises(NorceError, match="HTTP 404"):
        client.job(999)
