"""JoorSender (the contract's asynchronous sender) against the JOOR sandbox over real HTTP."""

from __future__ import annotations

import pytest

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.core.contract import AsyncSender, Batch
from b2b_assets.targets.joor.client import JoorClient, retrying_session
from b2b_assets.targets.joor.credits import CreditBudget
from b2b_assets.targets.joor.encoding import JSON, XML
from b2b_assets.targets.joor.mapping import documents, to_payload
from b2b_assets.targets.joor.target import CONNECTIONS, JoorSender, credits

from .test_mapping import hub


@pytest.fixture
def sandbox():
    with start_sandboxes() as running:
        yield running


def sender_for(sandbox, media: str = JSON) -> JoorSender:
    client = JoorClient(f"{sandbox.base_url}/joor", "sandbox-token", media=media, budget=CreditBudget(),
                        session=retrying_session(backoff_factor=0.01))
    return JoorSender(client, poll_interval_seconds=0.01)


def whole_batch() -> Batch:
    payload = to_payload(hub())
    return Batch(CONNECTIONS, payload, payload.records)


@pytest.mark.parametrize("media", [JSON, XML])
def test_the_sandbox_ends_with_exactly_the_connections_the_mapping_built(sandbox, media: str) -> None:
    sender, batch = sender_for(sandbox, media), whole_batch()
    assert isinstance(sender, AsyncSender)
    status = sender.poll(sender.submit(batch))
    assert status.finished and not status.failed and not status.rejected
    expected = {doc["customer_code"]: doc for doc in documents(batch.payload, batch.records)}
    assert sandbox.joor.connections() == expected
    assert [job["ignored_fields"] for job in sandbox.joor.jobs()] == [[]]  # every field sent is in the table


def test_an_open_job_polls_as_not_finished(sandbox) -> None:
    sandbox.joor.configure(hold_started=True)
    sender = sender_for(sandbox)
    job_id = sender.submit(whole_batch())
    assert not sender.poll(job_id).finished
    sandbox.joor.configure(hold_started=False)
    assert sender.poll(job_id).finished


def test_a_failed_job_fails_every_record_with_joors_comment_and_log_id(sandbox) -> None:
    sandbox.joor.configure(fail_next_jobs=1)
    sender = sender_for(sandbox, XML)
    status = sender.poll(sender.submit(whole_batch()))
    assert status.finished and status.failed
    assert "failed" in status.message and "log_id" in status.message


def test_per_record_results_reject_only_the_connection_joor_refused(sandbox) -> None:
    sandbox.joor.set_faults({"reject": [{"customer_code": "C2", "comment": "price type Europe is not set up"}]})
    sender = sender_for(sandbox)
    status = sender.poll(sender.submit(whole_batch()))
    assert status.finished and not status.failed
    assert status.rejected == {"C2": "JOOR refused the connection: price type Europe is not set up"}
    sandbox.joor.configure(per_record_results=False)
    status = sender.poll(sender.submit(whole_batch()))
    assert status.finished and not status.rejected  # without the extension, a finished job confirms everything


def test_a_job_joor_no_longer_knows_counts_as_failed_so_its_records_go_again(sandbox) -> None:
    sender = sender_for(sandbox)
    job_id = sender.submit(whole_batch())
    sandbox.joor.reset()
    status = sender.poll(job_id)
    assert status.finished and status.failed and f"does not know job {job_id}" in status.message


def test_the_dry_run_cost_counts_a_post_and_a_poll_per_job() -> None:
    assert credits(CONNECTIONS, 0) == 0
    assert credits(CONNECTIONS, 1) == 6
    assert credits(CONNECTIONS, 1001) == 18
