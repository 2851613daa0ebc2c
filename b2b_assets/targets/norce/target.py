"""The Norce Commerce Connect target: norce/companies, then norce/customers, as asynchronous jobs.

Each batch is one ImportCompanies or ImportCustomers job; the core follows
Job/Get through `poll` until IsFinished and settles the records from `jobs`.
Customers reference their company by Code, so a user whose organization
Norce does not have yet is held until it lands. One client (and one token)
serves both objects of a run: the sender comes from the run's NorceResource.

Customers map one hub row each, so the core plans them a key range at a time,
and a run after a small change maps only the users changed since the last
sync. Companies are planned whole: companies_payload puts parents before their
children across the whole entity, so a parent's job goes before its child's,
and Norce resolves ParentCompanyCode when it imports the child. In key ranges
that would hold within a range only, and a child whose parent sorts into a
later range would land without its parent (Norce only warns).
"""

from __future__ import annotations

from b2b_assets import settings
from b2b_assets.defs.norce.resources import (
    APPLICATION_KEY_VARIABLE,
    CLIENT_ID_VARIABLE,
    CLIENT_SECRET_VARIABLE,
    NorceResource,
    default_norce,
)
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.targets.core.contract import AsyncSender, Batch, JobStatus, Reference, Target, TargetObject
from b2b_assets.targets.norce.jobs import job_status
from b2b_assets.targets.norce.json_documents import json_documents
from b2b_assets.targets.norce.limits import rejection_reasons
from b2b_assets.targets.norce.mapping import Envelope, MappingOptions, NorcePayload, companies_payload, customers_payload


class NorceSender(AsyncSender):
    """Submits a batch as one import job; polls it with one Job/Get (and Job/GetLog once it ended badly)."""

    def __init__(self, resource: NorceResource):
        self._client = resource.client()
        self._envelope = Envelope(resource.application_key, list_delta=not resource.mirror_relations)
        self.poll_interval_seconds = resource.poll_interval_seconds
        self._keys: dict[str, list[str]] = {}  # job id -> record keys, for jobs submitted by this run

    def submit(self, batch: Batch) -> str:
        payload: NorcePayload = batch.payload
        if self._client.serialization == "XML":
            documents, written = payload.documents(batch.records, self._envelope), None
        else:  # JSON from the columns; one dict document tells the header which members every one carries
            documents = payload.documents(batch.records.iloc[:1], self._envelope)
            written = json_documents(payload, batch.records, self._envelope)
        job_id = str(self._client.import_records(payload.item_type, documents, list_delta=self._envelope.list_delta,
                                                 written=written))
        self._keys[job_id] = batch.keys
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        state = self._client.job(int(job_id))
        if not state.is_finished:
            return JobStatus(finished=False)
        rows = self._client.job_log(int(job_id)) if state.status_id != 2 else []
        return job_status(state, rows, self._keys.pop(job_id, None))


def _options() -> MappingOptions:
    return MappingOptions(credentials_system_of_record=settings.credentials_system_of_record())


COMPANIES = TargetObject(
    name="companies",
    source_entities=("organizations", "locations"),
    key=("Code",),
    to_payload=lambda frames: companies_payload(frames, _options()),
    limits=rejection_reasons,
    references=(Reference("ParentCompanyCode", "companies"),),
    description="Norce companies from hub organizations: invoice and delivery addresses from their locations, "
                "payment methods, price lists, discount, parent company.",
)
CUSTOMERS = TargetObject(
    name="customers",
    source_entities=("users",),
    key=("Code",),
    to_payload=lambda frames: customers_payload(frames, _options()),
    limits=rejection_reasons,
    references=(Reference("CompanyCode", "companies"),),
    key_ranges=True,
    description="Norce customers from hub users: names split into first, middle and last, phones, their company "
                "by Code, one account each with its roles (and a password only when the export owns credentials).",
)

def _check_credentials(resource) -> str:  # noqa: ANN001 - the NorceResource
    """Fetch an access token with the client id and secret (OAuth client credentials): nothing is imported."""
    client = resource.client()
    try:
        client.authenticate()
    finally:
        client.close()
    return "access token issued for the client credentials"


TARGET = Target(
    name="norce",
    title="Norce",
    objects=(COMPANIES, CUSTOMERS),
    sender=NorceSender,
    check_credentials=_check_credentials,
    resource_key="norce",
    default_resource=default_norce,
    kinds=frozenset({"norce", "api"}),
    sandbox_environment={CLIENT_ID_VARIABLE: "sandbox-client", CLIENT_SECRET_VARIABLE: "sandbox-secret",
                         APPLICATION_KEY_VARIABLE: DEFAULT_APPLICATION_KEY},
    url_environment="NORCE_API_URL",
)
