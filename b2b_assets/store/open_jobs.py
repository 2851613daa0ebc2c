"""Which target objects have records waiting in asynchronous jobs, across every target, in one query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, distinct, func, select

from b2b_assets.store.tables import sync_ledger
from b2b_assets.targets.core.contract import LedgerState


@dataclass(frozen=True)
class OpenJobs:
    target: str
    entity: str
    records: int  # records `submitted` and not yet settled
    jobs: int  # distinct job ids they wait in


def open_jobs(engine: Engine) -> list[OpenJobs]:
    """(target, entity) pairs whose ledger holds `submitted` records, in target and entity order."""
    c = sync_ledger.c
    statement = (select(c.target, c.entity, func.count(), func.count(distinct(c.job_id)))
                 .where(c.state == LedgerState.SUBMITTED.value)
                 .group_by(c.target, c.entity).order_by(c.target, c.entity))
    with engine.connect() as connection:
        return [OpenJobs(target, entity, int(records), int(jobs))
                for target, entity, records, jobs in connection.execute(statement)]
