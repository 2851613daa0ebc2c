"""Asynchronous jobs: settle what a target has finished, within a time budget, from the ledger alone.

The ledger is the only memory: a record handed to a job is `submitted` with
the job id, so a run that ends (or dies) while the job runs loses nothing.
Settling polls each open job; a finished one turns its records `sent`, or
`rejected` with the target's message (every record of a failed job, or the
ones the target names). A job still running when the budget is spent stays
open for the next run, and its records are not submitted again meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from b2b_assets.targets.core.contract import RECORD_KEY, AsyncSender, JobStatus, LedgerState


@dataclass
class Settled:
    sent: int = 0
    rejected: int = 0
    still_open: int = 0  # records whose job had not finished when the budget ran out
    problems: pd.DataFrame | None = None  # record_key, state, reason of the rejected ones


def settle_open_jobs(target: str, entity: str, ledger, sender: AsyncSender, deadline: float, *,
                     clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                     ) -> Settled:
    """Poll every open job of (target, entity) until each is finished or `deadline` (clock time) passes.

    Every open job is polled at least once, so a budget of zero still settles
    the jobs that finished between runs.
    """
    open_jobs = ledger.open_jobs(target, entity)
    settled = Settled()
    problems: list[pd.DataFrame] = []
    waiting = list(dict.fromkeys(open_jobs["job_id"].dropna().tolist()))
    while waiting:
        for job_id in list(waiting):
            status = sender.poll(job_id)
            if status.finished:
                waiting.remove(job_id)
                outcome = _outcome(open_jobs[open_jobs["job_id"] == job_id], status)
                ledger.record(target, entity, outcome)
                bad = outcome[outcome["state"] == LedgerState.REJECTED.value]
                settled.sent += len(outcome) - len(bad)
                settled.rejected += len(bad)
                problems.append(bad.rename(columns={"last_error": "reason"})[[RECORD_KEY, "state", "reason"]])
        if not waiting or clock() + sender.poll_interval_seconds > deadline:
            break
        sleep(sender.poll_interval_seconds)
    settled.still_open = int(open_jobs["job_id"].isin(waiting).sum())
    settled.problems = pd.concat(problems, ignore_index=True) if problems else None
    return settled


def _outcome(records: pd.DataFrame, status: JobStatus) -> pd.DataFrame:
    keys = records[RECORD_KEY].astype("string")
    if status.failed:
        reason = pd.Series(f"job failed: {status.message or 'the target gave no reason'}", index=records.index)
    else:
        reason = keys.map(dict(status.rejected)) if status.rejected else pd.Series(pd.NA, index=records.index)
    reason = reason.astype("string")
    state = reason.isna().map({True: LedgerState.SENT.value, False: LedgerState.REJECTED.value})
    return pd.DataFrame({RECORD_KEY: keys.to_numpy(), "payload_hash": records["payload_hash"].to_numpy(),
                         "state": state.to_numpy(), "last_error": reason.to_numpy(), "job_id": pd.NA})
