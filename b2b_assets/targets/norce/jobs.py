"""A finished Norce job as the contract's JobStatus: which records it refused, and why.

Job/Get says how the job ended: StatusId 2 succeeded; 4 validation failed
(the records that passed were imported); 3 failed (nothing was). Job/GetLog
says which records: a severity-3 row whose message names exactly one record
of the job by its Code (the record_key) is that record's rejection. Any other
severity-3 row is a job-level error: in a failed job it is the message every
record is rejected with; in a validation-failed job it means a record failed
that nobody can name, so the whole job counts as failed and is resent next
run (imports upsert by Code, so resending the records that did land is harmless).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from b2b_assets.targets.core.contract import JobStatus
from b2b_assets.targets.norce.client import ERROR_SEVERITY, JobState, LogRow

SUCCEEDED, FAILED, VALIDATION_FAILED = 2, 3, 4
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")
_TOKEN = re.compile(r"[^\s'\",;:()\[\]]+")


def job_status(state: JobState, rows: Sequence[LogRow], keys: Collection[str] | None) -> JobStatus:
    """The JobStatus of a finished job; `keys` are the record keys it was submitted with, if still known."""
    if state.status_id == SUCCEEDED:
        return JobStatus(finished=True)
    rejected: dict[str, str] = {}
    job_errors: list[str] = []
    for row in rows:
        if row.severity != ERROR_SEVERITY:
            continue
        code = _named_record(row.message, keys)
        if code is None:
            job_errors.append(row.message)
        else:
            rejected[code] = f"{rejected[code]}; {row.message}" if code in rejected else row.message
    failed = state.status_id != VALIDATION_FAILED or bool(job_errors) or not rejected
    message = "; ".join(job_errors) or f"Norce job {state.job_id} ended {state.status or state.status_id}"
    return JobStatus(finished=True, failed=failed, message=f"JOB_{state.status_id}: {message}",
                     rejected={key: f"SEVERITY_3: {text}" for key, text in rejected.items()})


def _named_record(message: str, keys: Collection[str] | None) -> str | None:
    """The one record key a log message names, or None if it names none (or several).

    Quoted values are tried first (Norce writes "Customer 'U-5003': ..."). With the job's keys
    known, any whole token that is one of them also counts; without them, the first quoted value.
    """
    quoted = [a or b for a, b in _QUOTED.findall(message)]
    if keys is None:
        return quoted[0] if quoted else None
    known = set(keys)
    named = {value for value in quoted if value in known} or {token for token in _TOKEN.findall(message) if token in known}
    return named.pop() if len(named) == 1 else None
