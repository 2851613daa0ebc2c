"""The Norce Commerce Connect client: one OAuth2 token, imports, Job/Get and Job/GetLog.

The token endpoint allows about three requests a minute, so the token is
fetched once, kept until shortly before it expires, and fetched again only
then or when a call answers 401 (once per call: a second 401 means the
credentials no longer work). Transport trouble (429 with Retry-After, 5xx,
dropped connections, replies cut off mid-body) is retried below this class by
the core's `RetryingSession`, POST included: an import upserts by Code, so a
repeated request is harmless.
The client secret and the token never appear in messages, logs or reprs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from b2b_assets.targets.core.http import RetryingSession, RetryPolicy
from b2b_assets.targets.core.json_columns import JsonArray
from b2b_assets.targets.norce.connect import connect_header, encode_body

log = logging.getLogger(__name__)

CONNECT_PATH = "commerce/connect/4.0"
TOKEN_PATH = "identity/1.0/connect/token"
EXPIRY_MARGIN_SECONDS = 60  # refresh this long before the token's end, so no call carries a token about to lapse
ERROR_SEVERITY = 3


class NorceError(RuntimeError):
    """A Connect call failed; the message names the operation and the status, never a credential."""


class NorceAuthError(NorceError):
    """The credentials were refused (or a fresh token was refused again): nothing more can be sent."""


def default_retry(budget_seconds: float = 300, backoff_factor: float = 0.5) -> RetryPolicy:
    """Transport retries for Norce: every call, POST included (imports upsert by Code)."""
    return RetryPolicy(budget_seconds=budget_seconds, backoff_factor=backoff_factor,
                       methods=frozenset({"GET", "POST"}))


@dataclass(frozen=True)
class JobState:
    job_id: int
    status_id: int
    status: str
    is_finished: bool


@dataclass(frozen=True)
class LogRow:
    severity: int
    message: str


class NorceClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, *, account_id: int = 1,
                 serialization: str = "JSON", timeout: float = 30, retry: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """`base_url` is the tenant's root (https://{slug}.api-se.norce.tech), holding identity/ and commerce/."""
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.serialization = serialization
        self.timeout = timeout
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._http = RetryingSession(retry if retry is not None else default_retry())
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"NorceClient(base_url={self.base_url!r}, has_token={self._token is not None})"

    def close(self) -> None:
        self._http.close()

    # --- token ------------------------------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Fetch a token now (raises NorceAuthError when the client credentials are refused)."""
        self._fetch_token()

    def _bearer(self) -> str:
        if self._token is None or self._clock() >= self._token_expires:
            self._fetch_token()
        return self._token

    def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            reply = self._http.post(f"{self.base_url}/{TOKEN_PATH}", data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise NorceError(f"Norce token request failed: {type(exc).__name__}") from None
        if reply.status_code in (400, 401, 403):
            raise NorceAuthError(f"Norce refused the client credentials (HTTP {reply.status_code}, "
                                 f"{_oauth_error(reply)}); check the client id and secret variables")
        if not reply.ok:
            raise NorceError(f"Norce token request failed with HTTP {reply.status_code}")
        body = reply.json()
        self._token = body["access_token"]
        self._token_expires = self._clock() + max(0.0, float(body.get("expires_in", 3600)) - EXPIRY_MARGIN_SECONDS)
        self.tokens_fetched += 1
        log.info("Norce access token fetched (valid %s s)", body.get("expires_in"))

    def _call(self, method: str, operation: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/{CONNECT_PATH}/{operation}"
        headers = dict(kwargs.pop("headers", {}))
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self._bearer()}"
            try:
                reply = self._http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise NorceError(f"Norce {operation} failed: {type(exc).__name__}") from None
            if reply.status_code != 401:
                break
            if attempt == 2:
                raise NorceAuthError(f"Norce {operation} answered 401 with a freshly fetched token")
            log.info("Norce %s answered 401; fetching a new token once", operation)
            self._token = None
        if not reply.ok:
            raise NorceError(f"Norce {operation} failed with HTTP {reply.status_code}: {_vendor_message(reply)}")
        return reply

    # --- operations -------------------------------------------------------------------------------------------

    def import_records(self, item_type: str, documents: Sequence[Mapping[str, Any]], *, list_delta: bool = True,
                       written: JsonArray | None = None) -> int:
        """Submit one import (Company or Customer documents); returns the job id.

        `written`: the same documents already written as JSON (`json_documents`), sent as the body when the
        serialization is JSON; `documents` then need only be one of them, for the header's FieldsThatAreSet.
        """
        header = connect_header(documents, item_type, account_id=self.account_id, serialization=self.serialization,
                                list_delta=list_delta)
        if written is not None and self.serialization != "XML":
            body, content_type = b"".join(written.chunks()), "application/json"
        else:
            body, content_type = encode_body(documents, item_type, self.serialization)
        operation = "Customer/ImportCompanies" if item_type == "Company" else "Customer/ImportCustomers"
        reply = self._call("POST", operation, data=body,
                           headers={"Content-Type": content_type, "X-StormConnect-Header": header})
        job_id = reply.json().get("JobId")
        if job_id is None:
            raise NorceError(f"Norce {operation} answered without a JobId: {_vendor_message(reply)}")
        return int(job_id)

    def job(self, job_id: int) -> JobState:
        body = self._call("GET", "Job/Get", params={"id": job_id}).json()
        return JobState(int(body.get("Id", job_id)), int(body["StatusId"]), str(body.get("Status", "")),
                        bool(body["IsFinished"]))

    def job_log(self, job_id: int) -> list[LogRow]:
        rows = self._call("GET", "Job/GetLog", params={"id": job_id}).json()
        return [LogRow(int(row.get("Severity", 0)), str(row.get("Message", ""))) for row in rows]


def _oauth_error(reply: requests.Response) -> str:
    try:
        return str(reply.json().get("error", "no error code"))
    except ValueError:
        return "no error code"


def _vendor_message(reply: requests.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    return str(body.get("Message") or body.get("Description") or body)[:500] if isinstance(body, dict) else str(body)[:500]
