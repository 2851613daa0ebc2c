"""Client for the seed-000 vendor GET API: /organizations, /locations, /users.

Each endpoint returns a flat JSON array (a full refresh); `?updated_since=<ISO-8601 UTC>`
returns only records changed after that moment, which is how incremental runs
move a cursor forward. Plain Python (the Dagster resource wraps it).

Reliability: the core's `RetryingSession` (GET only), which retries 429, 5xx,
dropped connections and replies cut off mid-body for a time budget, honouring
`Retry-After`, plus connect/read timeouts. Secrecy: the token
is only ever put in the Authorization header; error messages are built from
the method, URL and status, and scrubbed of the token in case a server echoes it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urljoin

import pandas as pd
import requests

from b2b_assets.sources.mapping import API_ENTITIES
from b2b_assets.sources.normalize import format_utc, parse_timestamps
from b2b_assets.sources.readers.frames import records_to_frame
from b2b_assets.targets.core.http import RetryingSession, RetryPolicy

MAX_DETAIL_CHARS = 200


class PartnerApiError(RuntimeError):
    """The partner API could not be read; the message is safe to log (no credentials)."""


class PartnerApiClient:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float | tuple[float, float] = (5.0, 60.0),
                 retry: RetryPolicy = RetryPolicy(budget_seconds=120.0, backoff_factor=0.2)) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token or None
        self.timeout = timeout
        self.session = RetryingSession(retry)
        if self._token:
            self.session.headers["Authorization"] = f"Bearer {self._token}"
        self.session.headers["Accept"] = "application/json"

    def __repr__(self) -> str:  # never show the token, even in a debugger or a log of the resource
        return f"PartnerApiClient(base_url={self.base_url!r}, token={'***' if self._token else None})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "PartnerApiClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(self, entity: str, since: str | None = None) -> tuple[pd.DataFrame, str | None]:
        """All records of `entity` (changed after `since`, if given) as a frame of strings.

        Returns the frame (with `_source` = "partner_api/<entity>" and `_row` = 1-based position
        in the reply) and the latest `updated_at` in it as a UTC ISO string, the cursor for the
        next incremental fetch (None when the reply is empty or has no `updated_at`).
        """
        if entity not in API_ENTITIES:
            raise ValueError(f"the partner API serves {', '.join(API_ENTITIES)}, not {entity!r}")
        url = urljoin(self.base_url, entity)
        params = {"updated_since": since} if since else None
        records = self._get_array(url, params)
        frame = records_to_frame(records, list(range(1, len(records) + 1)), f"partner_api/{entity}")
        return frame, _latest(frame)

    def _get_array(self, url: str, params: dict | None) -> list[dict]:
        what = f"GET {url}" + (f"?updated_since={params['updated_since']}" if params else "")
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            raise PartnerApiError(self._scrub(f"{what} failed after retries: {_cause(exc)}")) from None
        except requests.exceptions.Timeout:
            raise PartnerApiError(f"{what} timed out (timeout {self.timeout}s) after retries") from None
        except requests.exceptions.RequestException as exc:
            raise PartnerApiError(self._scrub(f"{what} failed: {_cause(exc)}")) from None
        if response.status_code in (401, 403):
            hint = "check the API token" if self._token else "the API needs a token and none is configured"
            raise PartnerApiError(f"{what}: HTTP {response.status_code} {response.reason} ({hint})")
        if response.status_code != 200:
            detail = self._scrub(response.text[:MAX_DETAIL_CHARS].strip())
            raise PartnerApiError(f"{what}: HTTP {response.status_code} {response.reason}"
                                  + (" after retries" if response.status_code in self.session.policy.statuses
                                     else "")
                                  + (f": {detail}" if detail else ""))
        try:
            body = response.json(parse_float=Decimal)  # prices exactly as the API wrote them
        except (ValueError, json.JSONDecodeError):
            raise PartnerApiError(f"{what}: the reply is not JSON") from None
        if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
            raise PartnerApiError(f"{what}: expected a JSON array of records, got {type(body).__name__}")
        return body

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _cause(exc: BaseException) -> str:
    """The innermost reason, without request objects (whose repr could carry headers)."""
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None)
    return str(reason or inner)[:MAX_DETAIL_CHARS]


def _latest(frame: pd.DataFrame) -> str | None:
    if "updated_at" not in frame.columns or frame.empty:
        return None
    parsed = parse_timestamps(frame["updated_at"]).dropna()
    if parsed.empty:
        return None
    return str(format_utc(pd.Series([parsed.max()])).iloc[0])
