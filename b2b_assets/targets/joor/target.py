"""JOOR on the outbound contract: one object, `connections`, sent as Bulk Connection jobs (asynchronous sender).

A batch becomes one job (`POST /v2/bulk-connection`); its records stay
`submitted` until a poll finds the job `finished`. A failed job (JOOR's
non-zero code with comment and log_id) makes every record of it rejected with
that message, to be retried next run. Where the sandbox's per-record results
extension names a refused connection, only that one is rejected; without the
extension a finished job confirms all of its connections, as JOOR itself
reports nothing more in the reply.
"""

from __future__ import annotations

import math

from b2b_assets.defs.joor.resources import JoorResource, default_joor
from b2b_assets.targets.core.contract import Batch, JobStatus, RecordsRejected, Target, TargetObject
from b2b_assets.targets.joor.client import TOKEN_ENV_NAME, JoorAuthError, JoorClient, JoorError, JoorRequestRefused
from b2b_assets.targets.joor.credits import GET_COST, POST_COST
from b2b_assets.targets.joor.encoding import JSON
from b2b_assets.targets.joor.json_documents import json_connections
from b2b_assets.targets.joor.mapping import LOOKUPS, RANGE_COLUMNS, SOURCE_ENTITIES, documents, limits, to_payload

SANDBOX_TOKEN = "sandbox-token"  # what the bundled sandbox accepts; b2b-sync sets it only for that sandbox
DEFAULT_RECORDS_PER_JOB = 500  # the core's default batch size: one batch is one job


class JoorSender:
    """Bulk Connection jobs: submit a batch as one job, poll it until JOOR has finished it."""

    def __init__(self, client: JoorClient, poll_interval_seconds: float = 5.0):
        self.client = client
        self.poll_interval_seconds = poll_interval_seconds

    def submit(self, batch: Batch) -> str:
        try:
            return self.client.submit(self._connections(batch)).job_id
        except JoorRequestRefused as refused:
            # JOOR refused the request as a whole (no job): the records JOOR's table would refuse are
            # already rejected by `limits` before sending, so this is a rule the mapping does not know yet.
            raise RecordsRejected(str(refused.code), refused.comment + (f" (log_id {refused.log_id})"
                                                                        if refused.log_id else "")) from refused

    def _connections(self, batch: Batch):
        """JSON written from the columns; XML from the nested documents lxml needs."""
        if self.client.media == JSON:
            return json_connections(batch.payload, batch.records)
        return documents(batch.payload, batch.records)

    def poll(self, job_id: str) -> JobStatus:
        try:
            job = self.client.job(job_id)
        except JoorError as error:
            if error.status != 404:
                raise
            # JOOR no longer knows the job: nothing says its records landed, so they go again next run.
            return JobStatus(finished=True, failed=True, message=f"JOOR does not know job {job_id}: {error}")
        if not job.finished:
            return JobStatus(finished=False)
        if job.failed:
            return JobStatus(finished=True, failed=True, message=job.failure_message)
        refused = {code: f"JOOR refused the connection: {comment or 'no reason given'}"
                   for code, (status, comment) in (job.results or {}).items() if status == "rejected"}
        return JobStatus(finished=True, rejected=refused)


def credits(_obj: TargetObject, records: int) -> int:
    """JOOR credits for sending `records` connections: per job one POST and at least one GET to settle it."""
    return math.ceil(records / DEFAULT_RECORDS_PER_JOB) * (POST_COST + GET_COST)


NO_SUCH_JOB = "0"  # JOOR's job ids are positive


def _check_credentials(resource: JoorResource) -> str:
    """Read a job that cannot exist (a GET, 1 credit): JOOR checks the token before it looks for the job, so a
    404 means the token was accepted and a 401 (JoorAuthError) that it was not."""
    client = resource.client()
    try:
        client.job(NO_SUCH_JOB)
    except JoorAuthError:
        raise
    except JoorError as answered:
        if answered.status != 404:
            raise
    finally:
        client.close()
    return "token accepted (a read of a job that does not exist: 1 credit)"


def _sender(resource: JoorResource) -> JoorSender:
    return JoorSender(resource.client(), resource.poll_interval_seconds)


CONNECTIONS = TargetObject(
    name="connections",
    source_entities=SOURCE_ENTITIES,
    key=("customer_code",),
    to_payload=to_payload,
    limits=limits,
    key_ranges=True,
    range_columns=RANGE_COLUMNS,
    whole_entities=LOOKUPS,
    description="JOOR connections (Bulk Connection API): one per customer organization, with its buyers, "
                "billing and shipping addresses, payment and shipping methods, price types, discounts, "
                "warehouses and customer locations.",
)

TARGET = Target(
    name="joor",
    title="JOOR",
    objects=(CONNECTIONS,),
    sender=_sender,
    check_credentials=_check_credentials,
    resource_key="joor",
    default_resource=default_joor,
    kinds=frozenset({"joor", "api"}),
    cost_unit="credits",
    cost=credits,
    sandbox_environment={TOKEN_ENV_NAME: SANDBOX_TOKEN},
    url_environment="JOOR_API_URL",
)
