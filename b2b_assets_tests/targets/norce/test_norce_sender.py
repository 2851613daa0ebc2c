"""The Norce target's asynchronous sender and limits, against the sandbox over HTTP (no core involved)."""

from __future__ import annotations

import pytest

from b2b_assets.defs.norce.resources import NorceResource
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.core.contract import Batch
from b2b_assets.targets.norce.client import JobState, LogRow
from b2b_assets.targets.norce.jobs import job_status
from b2b_assets.targets.norce.limits import rejection_reasons
from b2b_assets.targets.norce.mapping import companies_payload, customers_payload
from b2b_assets.targets.norce.target import COMPANIES, CUSTOMERS, TARGET

from .canonical import canonical_frames


@pytest.fixture
def running():
    with start_sandboxes() as sandboxes:
        yield sandboxes


@pytest.fixture
def sender(running):
    resource = NorceResource(base_url=f"{running.base_url}/norce", client_id="sandbox-client",
                             client_secret="sandbox-secret", application_key=DEFAULT_APPLICATION_KEY)
    yield TARGET.sender(resource)
    resource.client().close()


def settle(sender, batch: Batch):
    job_id = sender.submit(batch)
    status = sender.poll(job_id)
    assert status.finished
    return status


def test_a_validation_failure_rejects_only_the_record_its_log_row_names(running, sender) -> None:
    frames = canonical_frames()
    companies = companies_payload(frames)
    assert settle(sender, Batch(COMPANIES, companies, companies.records)).failed is False
    running.norce.set_faults({"reject": [{"code": "U2", "message": "EmailAddress is already used by another customer"}]})
    customers = customers_payload(frames)
    status = settle(sender, Batch(CUSTOMERS, customers, customers.records))
    assert status.failed is False
    assert status.rejected == {"U2": "SEVERITY_3: Customer 'U2': EmailAddress is already used by another customer"}
    assert [c["Code"] for c in running.norce.customers()] == ["U1"]


def test_a_failed_job_fails_every_record_with_the_job_error(running, sender) -> None:
    running.norce.configure(fail_next_jobs=1)
    companies = companies_payload(canonical_frames())
    status = settle(sender, Batch(COMPANIES, companies, companies.records))
    assert status.failed and status.message.startswith("JOB_3: The import failed") and status.rejected == {}


def test_a_job_still_running_is_reported_unfinished(running, sender) -> None:
    running.norce.configure(jobs_paused=True)
    companies = companies_payload(canonical_frames())
    job_id = sender.submit(Batch(COMPANIES, companies, companies.records))
    assert sender.poll(job_id).finished is False
    running.norce.configure(jobs_paused=False)
    assert sender.poll(job_id).finished


@pytest.mark.parametrize("rows, keys, failed, rejected", [
    ([LogRow(3, "Customer 'U1': LastName too long")], ["U1", "U2"], False, {"U1"}),
    ([LogRow(3, "Customer 'U1': LastName too long")], None, False, {"U1"}),  # polled by a later run
    ([LogRow(3, "Record U2 has an invalid e-mail")], ["U1", "U2"], False, {"U2"}),  # unquoted, but a known key
    ([LogRow(3, "Something broke")], ["U1"], True, set()),  # nobody named: the whole job is retried
    ([LogRow(3, "Customer 'U1': bad"), LogRow(3, "Timeout while saving")], ["U1"], True, {"U1"}),
    ([LogRow(3, "Customers 'U1' and 'U2' share a login")], ["U1", "U2"], True, set()),  # two named: unattributable
    ([LogRow(2, "Company 'C9' parent missing")], ["C9"], True, set()),  # validation failed, no error row
])
def test_log_rows_become_record_rejections_or_a_job_error(rows, keys, failed, rejected) -> None:
    status = job_status(JobState(7, 4, "ValidationFailed", True), rows, keys)
    assert status.finished and status.failed is failed and set(status.rejected) == rejected


def test_norce_limits_refuse_only_what_norce_cannot_take() -> None:
    frames = canonical_frames()
    frames["organizations"].loc[1, "organization_name"] = "N" * 101  # the hub takes 255
    frames["locations"].loc[1, "city"] = "C" * 101  # a delivery address's city; the hub takes 150
    reasons = rejection_reasons(companies_payload(frames))
    assert reasons["C2"] == "Name: 101 characters, Norce takes at most 100"
    assert reasons["C1"] == "DeliveryAddresses.City: 101 characters, Norce takes at most 100"
    assert rejection_reasons(customers_payload(canonical_frames())).empty
