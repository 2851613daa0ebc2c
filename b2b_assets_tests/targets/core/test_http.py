"""The core's retrying HTTP session, over real HTTP to the sandboxes' fault injection."""

from __future__ import annotations

import logging
import re

import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import PartnerApiClient
from b2b_assets.targets.core.http import RetryingSession, RetryPolicy
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry

TAXCODE_FIELDS = ["keyTaxcodeID", "taxcode", "taxcodeLabel", "description", "taxcodePercentageRate"]
CREDENTIALS = ("sandbox-org", "sandbox-key", "sandbox-password")


def fast(**settings) -> dict:
    """Test-sized waits; the budget still decides when to stop."""
    return {"backoff_factor": 0.01, "backoff_max": 0.05, "backoff_jitter": 0.01, **settings}


def taxcode(n: int) -> dict:
    return {"keyTaxcodeID": f"T{n}", "taxcode": f"T{n}", "taxcodeLabel": "GST", "description": "tax",
            "taxcodePercentageRate": 10}


@pytest.fixture
def sandboxes():
    with start_sandboxes() as running:
        yield running


def test_a_squizz_reply_cut_off_mid_body_is_retried(sandboxes):
    sandboxes.squizz.set_faults({"sequence": ["cut", "cut", "ok"]})
    with SquizzClient(f"{sandboxes.base_url}/squizz", *CREDENTIALS, retry=squizz_retry(**fast(budget_seconds=20))) \
            as client:
        assert client.import_esd(1, [taxcode(1)], TAXCODE_FIELDS).code == "SERVER_SUCCESS"
    assert [r["keyTaxcodeID"] for r in sandboxes.squizz.records(1)] == ["T1"]
    assert sandboxes.squizz.stats()["faults_injected"] == {"cut": 2}


def test_a_partner_api_reply_cut_off_mid_body_is_retried(sandboxes):
    organization = {"organization_number": "C-1", "organization_name": "One", "updated_at": "2026-01-01T00:00:00Z"}
    sandboxes.partner.upsert("organizations", [organization])
    sandboxes.partner.set_faults({"sequence": ["cut"]})
    with PartnerApiClient(f"{sandboxes.base_url}/partner", retry=RetryPolicy(**fast(budget_seconds=20))) as client:
        frame, _ = client.fetch("organizations")
    assert frame["organization_number"].tolist() == ["C-1"]
    assert sandboxes.partner.stats()["faults_injected"] == {"cut": 1}


def test_a_method_not_declared_safe_to_repeat_is_not_resent(sandboxes):
    """POST is retried only where the client says it is idempotent; a plain policy leaves it alone."""
    sandboxes.squizz.set_faults({"sequence": ["cut", "ok"], "apply_to": ["create_session"]})
    with RetryingSession(RetryPolicy(**fast(budget_seconds=20))) as http, \
            pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.post(f"{sandboxes.base_url}/squizz/rest/1/org/create_session", timeout=5,
                  data={"org_id": CREDENTIALS[0], "api_org_key": CREDENTIALS[1], "api_org_pw": CREDENTIALS[2],
                        "create_session": "Y"})
    assert sandboxes.squizz.stats()["faults_injected"] == {"cut": 1}


def test_half_of_all_requests_failing_still_finishes_in_one_run(sandboxes):
    """A 50% fault rate, with runs of seven and more faults in a row (which outlast a six-try budget)."""
    sandboxes.squizz.set_faults({"seed": 3, "drop": 0.16, "rate_limit": 0.16, "server_error": 0.16, "cut": 0.16,
                                 "retry_after_seconds": 0})
    with SquizzClient(f"{sandboxes.base_url}/squizz", *CREDENTIALS, timeout=5,
                      retry=squizz_retry(**fast(budget_seconds=60))) as client:
        for n in range(60):
            client.import_esd(1, [taxcode(n)], TAXCODE_FIELDS)
    stored = [r["keyTaxcodeID"] for r in sandboxes.squizz.records(1)]
    assert sorted(stored) == sorted(f"T{n}" for n in range(60))
    stats = sandboxes.squizz.stats()
    faults = sum(stats["faults_injected"].values())
    assert faults >= 50 and stats["faults_injected"]["cut"] > 0, stats["faults_injected"]
    assert stats["imports_by_type"] == {"1": 60}  # a faulted request never reached the platform


def test_each_retry_is_logged_as_it_happens_and_no_credential_shows(sandboxes, caplog):
    """A 429 (Retry-After: 1) and a dropped connection on import_esd: one WARNING per retry, naming the method, the
    path with the session id masked, what went wrong, the attempt and the wait; no credential in any log line."""
    caplog.set_level(logging.DEBUG)
    sandboxes.squizz.set_faults({"sequence": ["429", "drop", "ok"], "apply_to": ["import_esd"]})
    with SquizzClient(f"{sandboxes.base_url}/squizz", *CREDENTIALS, retry=squizz_retry(**fast(budget_seconds=20))) \
            as client:
        assert client.import_esd(1, [taxcode(1)], TAXCODE_FIELDS).code == "SERVER_SUCCESS"
    retries = [r for r in caplog.records if r.name == "b2b_assets.targets.core.http"]
    assert [r.levelno for r in retries] == [logging.WARNING, logging.WARNING]
    first, second = (r.getMessage() for r in retries)
    assert first.startswith("POST /squizz/rest/1/org/import_esd/*** answered 429; attempt 1 failed, "
                            "trying again in 1.0 s (")  # the wait the server asked for
    assert second.startswith("POST /squizz/rest/1/org/import_esd/*** failed (") and "attempt 2 failed" in second
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert all(secret not in logged for secret in CREDENTIALS[1:])
    assert not re.search(r"import_esd/(?!\*\*\*)", logged)
