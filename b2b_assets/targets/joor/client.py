"""The JOOR Bulk Connection API client: create a job, read a job, within JOOR's credit budget.

    POST {base}/v2/bulk-connection          -> the new job (queued)
    GET  {base}/v2/bulk-connection/{id}     -> the job's status and progress

`Authorization: OAuth2 <token>`; JSON or XML both ways, set by `media`. Each
call first takes its credits from the process-wide budget (`credits`), then
goes out over the core's retrying session: 429 (honouring Retry-After), 5xx,
dropped connections, timeouts and replies cut off mid-body are retried within a
time budget, POST included (connections
upsert by customer_code, so a job created twice changes nothing twice).

What JOOR answers becomes a `JobReply`, or one of the `JoorError`s below. The
token never appears in messages, logs or reprs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from b2b_assets.targets.core.http import TRANSIENT_STATUSES, RetryingSession, RetryPolicy
from b2b_assets.targets.core.json_columns import JsonArray
from b2b_assets.targets.joor.credits import GET_COST, POST_COST, CreditBudget, shared_budget
from b2b_assets.targets.joor.encoding import JSON, MEDIA_TYPES, ReplyUnreadable, decode_reply, encode_connections, media_type

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.jooraccess.com"
TOKEN_ENV_NAME = "JOOR_API_TOKEN"
FAILED_STATUSES = ("failed", "error")  # not documented; accepted in case JOOR reports a failure as a status
# The sandbox's documented extension with per-record outcomes; JOOR itself e-mails them.
RESULTS_EXTENSION = "sandbox_connection_results"


def retrying_session(budget_seconds: float = 300.0, backoff_factor: float = 0.5) -> RetryingSession:
    """The core's retrying session, POST included: connections upsert by customer_code."""
    return RetryingSession(RetryPolicy(budget_seconds=budget_seconds, backoff_factor=backoff_factor,
                                       methods=frozenset({"GET", "POST"})))


class JoorError(Exception):
    """JOOR answered with an error (non-zero code), or could not be reached."""

    def __init__(self, what: str, status: int | None = None, code: Any = None, comment: str = "", log_id: str = ""):
        self.status, self.code, self.comment, self.log_id = status, code, comment, log_id
        parts = [what]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code not in (None, ""):
            parts.append(f"code {code}")
        text = ", ".join(parts)
        if comment:
            text += f": {comment}"
        if log_id:
            text += f" (log_id {log_id})"
        super().__init__(text)


class JoorAuthError(JoorError):
    """The token was refused: nothing will work until it is fixed."""


class JoorRequestRefused(JoorError):
    """JOOR refused the request because of its content (no job was created)."""


class JoorUnavailable(JoorError):
    """JOOR could not be reached, kept failing, or the credit budget did not allow the call in time."""


@dataclass(frozen=True)
class JobReply:
    """A bulk connections job as JOOR reports it."""

    job_id: str
    status: str  # queued, started, finished
    record_count: int | None = None
    record_progress: int | None = None
    failed: bool = False
    comment: str = ""
    log_id: str = ""
    # customer_code -> (accepted | rejected, comment), only where the sandbox's extension gives them
    results: Mapping[str, tuple[str, str]] | None = field(default=None)

    @property
    def finished(self) -> bool:
        return self.status == "finished" or self.failed

    @property
    def failure_message(self) -> str:
        text = self.comment or f"bulk connections job {self.job_id} failed"
        return f"{text} (log_id {self.log_id})" if self.log_id else text


class JoorClient:
    def __init__(self, base_url: str, token: str, *, media: str = JSON, timeout: float = 30,
                 session: requests.Session | None = None, budget: CreditBudget | None = None,
                 credit_wait_seconds: float = 330.0, token_env_name: str = TOKEN_ENV_NAME):
        if media not in MEDIA_TYPES:
            raise ValueError(f"media must be one of {', '.join(MEDIA_TYPES)}, not {media!r}")
        self.base_url = base_url.rstrip("/")
        self.media = media
        self.timeout = timeout
        self.credit_wait_seconds = credit_wait_seconds
        self.token_env_name = token_env_name
        self._token = token
        self._budget = budget if budget is not None else shared_budget(self.base_url, token)
        self._http = session if session is not None else retrying_session()

    def __repr__(self) -> str:
        return f"JoorClient(base_url={self.base_url!r}, media={self.media!r})"  # never the token

    def __enter__(self) -> JoorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, connections: Sequence[Mapping[str, Any]] | JsonArray) -> JobReply:
        """Post the connections as one bulk job; the job JOOR created (normally `queued`)."""
        reply = self._call("POST", "", POST_COST, encode_connections(connections, self.media))
        job = _job(reply, "create a bulk connections job")
        log.info("JOOR bulk connections job %s created for %d connections (%s)", job.job_id, len(connections),
                 job.status)
        return job

    def job(self, job_id: str) -> JobReply:
        """The job's current state (one request, no waiting for it to finish)."""
        return _job(self._call("GET", f"/{job_id}", GET_COST), f"read bulk connections job {job_id}")

    def _call(self, method: str, path: str, credits: int, body: bytes | None = None) -> dict[str, Any]:
        what = f"JOOR {method} /v2/bulk-connection{path}"
        if not self._budget.spend(credits, self.credit_wait_seconds):
            raise JoorUnavailable(f"{what}: no {credits} credits free within {self.credit_wait_seconds:.0f} s "
                                  "of JOOR's rate limit")
        headers = {"Authorization": f"OAuth2 {self._token}", "Accept": self.media}
        if body is not None:
            headers["Content-Type"] = self.media
        try:
            response = self._http.request(method, f"{self.base_url}/v2/bulk-connection{path}", data=body,
                                          headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise JoorUnavailable(self._redact(f"{what}: could not reach JOOR ({type(exc).__name__})")) from None
        reply_media = media_type(response.headers.get("Content-Type", ""))
        try:
            reply = decode_reply(response.content, reply_media if reply_media in MEDIA_TYPES else self.media)
        except ReplyUnreadable:
            error = JoorUnavailable if response.status_code in TRANSIENT_STATUSES else JoorError
            raise error(f"{what}: no JOOR reply", response.status_code) from None
        code, comment, log_id = _response_fields(reply)
        if response.status_code == 401:
            raise JoorAuthError(f"{what}: the token was refused (check {self.token_env_name})", 401, code,
                                self._redact(comment), log_id)
        if code in (0, None) and response.ok:
            return reply
        if reply.get("bulk_connections_jobs") and response.ok:
            return reply  # a job that failed: reported through the job, not as a failed call
        error = JoorUnavailable if response.status_code in TRANSIENT_STATUSES else (
            JoorRequestRefused if response.status_code == 400 else JoorError)
        raise error(what, response.status_code, code, self._redact(comment), log_id)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _response_fields(reply: Mapping[str, Any]) -> tuple[int | None, str, str]:
    response = reply["response"]
    code = response.get("code")
    try:
        code = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        code = -1  # not a number: an error all the same
    return code, str(response.get("comment") or ""), str(response.get("log_id") or "")


def _job(reply: Mapping[str, Any], what: str) -> JobReply:
    jobs = reply.get("bulk_connections_jobs")
    if not isinstance(jobs, list) or not jobs or not isinstance(jobs[0], dict):
        raise JoorError(f"JOOR {what}: the reply names no job")
    job = jobs[0]
    code, comment, log_id = _response_fields(reply)
    status = str(job.get("status") or "").lower()
    failed = code not in (0, None) or status in FAILED_STATUSES
    return JobReply(
        job_id=str(job.get("bulk_connections_job_id")), status=status,
        record_count=_int_or_none(job.get("connection_record_count")),
        record_progress=_int_or_none(job.get("connection_record_progress")),
        failed=failed, comment=comment if failed else "", log_id=log_id if failed else "",
        results=_results(job.get(RESULTS_EXTENSION)),
    )


def _results(entries: Any) -> dict[str, tuple[str, str]] | None:
    if not isinstance(entries, list):
        return None
    return {str(e.get("customer_code")): (str(e.get("status") or ""), str(e.get("comment") or ""))
            for e in entries if isinstance(e, dict)}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
