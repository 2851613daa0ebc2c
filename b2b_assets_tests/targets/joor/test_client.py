"""JoorClient against the JOOR sandbox over real HTTP: both encodings, errors, XXE, credits and 429s."""

from __future__ import annotations

import logging

import pytest

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.joor.client import JoorAuthError, JoorClient, JoorRequestRefused, retrying_session
from b2b_assets.targets.joor.credits import CreditBudget
from b2b_assets.targets.joor.encoding import JSON, XML
from b2b_assets_tests.sandbox.joor_data import connection

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox():
    with start_sandboxes() as running:
        yield running


def client_for(sandbox, media: str = JSON, token: str = TOKEN, **kwargs) -> JoorClient:
    kwargs.setdefault("budget", CreditBudget())  # a fresh budget: tests must not share the process-wide one
    kwargs.setdefault("session", retrying_session(backoff_factor=0.01))
    return JoorClient(f"{sandbox.base_url}/joor", token, media=media, **kwargs)


@pytest.mark.parametrize("media", [JSON, XML])
def test_a_job_is_created_followed_and_lands(sandbox, media: str) -> None:
    sandbox.joor.configure(hold_started=True)
    with client_for(sandbox, media) as client:
        job = client.submit([connection("A"), connection("B")])
        assert (job.status, job.record_count, job.finished) == ("started", 2, False)
        sandbox.joor.configure(hold_started=False)
        done = client.job(job.job_id)
    assert done.finished and not done.failed
    assert done.results == {"A": ("accepted", ""), "B": ("accepted", "")}
    assert sandbox.joor.connections() == {"A": connection("A"), "B": connection("B")}
    assert {j["media_type"] for j in sandbox.joor.jobs()} == {media}


def test_the_client_works_without_the_per_record_extension(sandbox) -> None:
    sandbox.joor.configure(per_record_results=False)
    with client_for(sandbox) as client:
        done = client.job(client.submit([connection("A")]).job_id)
    assert done.finished and done.results is None


def test_a_failed_job_is_reported_with_comment_and_log_id(sandbox) -> None:
    sandbox.joor.configure(fail_next_jobs=1)
    with client_for(sandbox, XML) as client:
        failed = client.job(client.submit([connection("A")]).job_id)
    assert failed.finished and failed.failed
    assert "failed" in failed.comment and failed.log_id and failed.log_id in failed.failure_message


def test_an_xml_reply_with_an_external_entity_is_read_without_resolving_it(sandbox, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    sandbox.joor.configure(xml_reply_entity=secret.as_uri())
    with client_for(sandbox, XML) as client:
        job = client.submit([connection("A")])
        read = client.job(job.job_id)
    assert job.job_id == read.job_id == "1" and read.finished
    assert "TOP-SECRET" not in repr(job) + repr(read)


def test_a_wrong_token_fails_fast_and_the_token_stays_secret(sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(sandbox, token="wrong-Secret-token-42") as client:
        with pytest.raises(JoorAuthError) as raised:
            client.submit([connection("A")])
    assert "JOOR_API_TOKEN" in str(raised.value)
    assert "wrong-Secret-token-42" not in str(raised.value) + repr(client) + caplog.text
    assert sandbox.joor.stats()["jobs_created"] == 0
    assert len(sandbox.joor.stats()["requests"]) == 1  # a 401 is not retried


def test_a_request_the_table_refuses_says_which_connection_and_field(sandbox) -> None:
    with client_for(sandbox) as client, pytest.raises(JoorRequestRefused) as raised:
        client.submit([connection("A"), connection("B", customer_name="")])
    assert "(B): customer_name: is required" in str(raised.value) and raised.value.log_id


def test_sustained_429s_slow_the_client_down_and_it_completes(sandbox) -> None:
    sandbox.joor.set_faults({"rate_limit": 0.5, "seed": 7, "retry_after_seconds": 0})
    with client_for(sandbox) as client:
        jobs = [client.submit([connection(f"C{i}")]) for i in range(6)]
        assert all(client.job(job.job_id).finished for job in jobs)
    assert sandbox.joor.stats()["faults_injected"]["rate_limit"] > 0
    assert set(sandbox.joor.connections()) == {f"C{i}" for i in range(6)}


def test_running_out_of_credits_at_joor_is_survived_through_retry_after(sandbox) -> None:
    sandbox.joor.configure(credits_per_window=5, window_seconds=1)  # one POST per second
    with client_for(sandbox) as client:  # the client's budget is JOOR's real one, far above the sandbox's
        for i in range(3):
            client.submit([connection(f"C{i}")])
    stats = sandbox.joor.stats()
    assert stats["rate_limited"] > 0 and stats["jobs_created"] == 3


def test_the_clients_own_budget_keeps_it_under_joors_limit(sandbox) -> None:
    sandbox.joor.configure(credits_per_window=5, window_seconds=1)
    with client_for(sandbox, budget=CreditBudget(5, 1)) as client:
        for i in range(3):
            client.submit([connection(f"C{i}")])
    stats = sandbox.joor.stats()
    assert (stats["rate_limited"], stats["jobs_created"]) == (0, 3)
