"""The SQUIZZ.com Platform API client: sessions and import_esd over one retrying HTTP session.

Transport trouble (429 with Retry-After, 5xx, dropped connections, replies cut
off mid-body, timeouts) is retried below this class by the core's
`RetryingSession` for a time budget, POST included: import_esd upserts by
key, so sending a document twice is harmless. Platform-level
trouble is handled here: an expired session is re-created once, a busy
platform is given a few pauses, everything else becomes one of the
exceptions in `errors.py`. Credentials and session ids never appear in
messages, logs or reprs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests

from b2b_assets.targets.core.http import RetryingSession, RetryPolicy
from b2b_assets.targets.core.json_columns import JsonArray
from b2b_assets.targets.squizz import log_redaction
from b2b_assets.targets.squizz.envelope import build_document, encode_document
from b2b_assets.targets.squizz.errors import (
    RETRYABLE_CODES,
    SquizzError,
    SquizzFatalError,
    SquizzRetryableError,
    SquizzSessionInvalid,
    error_for,
)
from b2b_assets.targets.squizz.replies import Reply, parse_reply

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.squizz.com"
CREDENTIAL_ENV_NAMES = ("SQUIZZ_ORG_ID", "SQUIZZ_API_KEY", "SQUIZZ_API_PASSWORD")


def squizz_retry(**settings: Any) -> RetryPolicy:
    """Transport retries for SQUIZZ, POST included (import_esd is an idempotent upsert by key).

    `settings` override RetryPolicy's defaults, e.g. `squizz_retry(budget_seconds=60)`.
    """
    return RetryPolicy(**{"methods": frozenset({"GET", "POST"}), **settings})


@dataclass(frozen=True)
class ImportResult:
    """A document the platform accepted."""

    type_id: int
    records: int
    code: str
    message: str
    reply_shape: str  # "flat" or "esd": which of the two reply shapes the platform used
    api_version: str | None


@dataclass(frozen=True)
class EncodedImport:
    """One import_esd document, built and gzip-compressed, ready to POST."""

    type_id: int
    body: bytes
    records: int


def encode_import(type_id: int, records: Sequence[dict] | JsonArray, data_fields: Sequence[str], *,
                  transfer_mode: str = "INCREMENT", child_data_fields: Sequence[str] | None = None,
                  price_groups: dict[str, list[str]] | None = None) -> EncodedImport:
    """The ESD document for `records`, encoded: the CPU half of an import, with no network."""
    body = encode_document(build_document(type_id, records, data_fields, transfer_mode=transfer_mode,
                                          child_data_fields=child_data_fields, price_groups=price_groups))
    return EncodedImport(type_id, body, len(records))


class SquizzClient:
    def __init__(self, base_url: str = DEFAULT_BASE_URL, org_id: str = "", api_key: str = "",
                 api_password: str = "", *, timeout: float = 30, retry: RetryPolicy | None = None,
                 credential_env_names: tuple[str, str, str] = CREDENTIAL_ENV_NAMES,
                 busy_retries: int = 3, busy_backoff: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.credential_env_names = tuple(credential_env_names)
        self.busy_retries = busy_retries
        self.busy_backoff = busy_backoff
        self._org_id = org_id
        self._api_key = api_key
        self._api_password = api_password
        self._session_id: str | None = None
        log_redaction.install()
        self._http = RetryingSession(retry if retry is not None else squizz_retry())

    def __repr__(self) -> str:
        # Deliberately nothing from the credentials or the session id.
        return f"SquizzClient(base_url={self.base_url!r}, session_open={self._session_id is not None})"

    def __enter__(self) -> SquizzClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- sessions ---------------------------------------------------------------------------------------------

    @property
    def has_session(self) -> bool:
        return self._session_id is not None

    def create_session(self) -> None:
        reply = self._call("POST", "create_session", data={
            "org_id": self._org_id, "api_org_key": self._api_key, "api_org_pw": self._api_password,
            "create_session": "Y"})
        session_id = reply.value("session_id")
        if not session_id:
            raise SquizzFatalError("SERVER_ERROR_UNKNOWN", "", "SQUIZZ created a session but returned no session id")
        self._session_id = str(session_id)
        log.info("SQUIZZ API session created")

    def validate_session(self) -> bool:
        if self._session_id is None:
            return False
        try:
            reply = self._call("GET", f"validate_session/{self._session_id}")
        except SquizzSessionInvalid:
            self._session_id = None
            return False
        valid = reply.value("session_valid")
        return valid is None or str(valid).upper() in ("Y", "TRUE", "1")

    def destroy_session(self) -> None:
        """End the session; best effort, since the platform expires sessions by itself anyway."""
        if self._session_id is None:
            return
        session_id, self._session_id = self._session_id, None
        try:
            self._call("GET", f"destroy_session/{session_id}", secrets=(session_id,))
            log.info("SQUIZZ API session destroyed")
        except SquizzError as exc:
            log.warning("SQUIZZ destroy_session failed (ignored): %s", exc)

    def close(self) -> None:
        try:
            self.destroy_session()
        finally:
            self._http.close()

    # --- imports ----------------------------------------------------------------------------------------------

    def import_esd(self, type_id: int, records: Sequence[dict] | JsonArray, data_fields: Sequence[str], *,
                   transfer_mode: str = "INCREMENT", child_data_fields: Sequence[str] | None = None,
                   price_groups: dict[str, list[str]] | None = None) -> ImportResult:
        """Send `records` as one ESD document of import type `type_id`; raise a SquizzError if it is refused."""
        return self.post_import(encode_import(type_id, records, data_fields, transfer_mode=transfer_mode,
                                              child_data_fields=child_data_fields, price_groups=price_groups))

    def post_import(self, document: EncodedImport) -> ImportResult:
        """POST a document built by `encode_import`; raise a SquizzError if the platform refuses it.

        Safe to call from another thread than the one that encoded it (the core sends one document
        while it builds the next), but never for two documents at once: SQUIZZ answers BUSY to a
        second concurrent import of an organisation.
        """
        type_id, body, records = document.type_id, document.body, document.records
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept": "application/json"}
        session_recreated = False
        busy_pauses = 0
        while True:
            if self._session_id is None:
                self.create_session()
            try:
                reply = self._call("POST", f"import_esd/{self._session_id}", params={"import_type_id": type_id},
                                   body=body, headers=headers)
            except SquizzSessionInvalid:
                if session_recreated:
                    raise
                session_recreated = True
                self._session_id = None
                log.info("SQUIZZ session expired; creating a new one and resending")
                continue
            except SquizzRetryableError as exc:
                if exc.code not in RETRYABLE_CODES or busy_pauses >= self.busy_retries:
                    raise
                pause = self.busy_backoff * (2 ** busy_pauses)
                busy_pauses += 1
                log.warning("SQUIZZ import type %s: %s; retrying in %.2fs (%d/%d)", type_id, exc.code, pause,
                            busy_pauses, self.busy_retries)
                time.sleep(pause)
                continue
            log.info("SQUIZZ import type %s: %d records accepted", type_id, records)
            return ImportResult(type_id, records, reply.code, reply.message, reply.shape, reply.api_version)

    # --- one HTTP call ----------------------------------------------------------------------------------------

    def _call(self, method: str, action: str, *, data: dict | None = None, body: bytes | None = None,
              headers: dict | None = None, params: dict | None = None, secrets: Sequence[str] = ()) -> Reply:
        url = f"{self.base_url}/rest/1/org/{action}"
        try:
            response = self._http.request(method, url, data=data if data is not None else body, headers=headers,
                                          params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            # `from None`: the chained exception would carry the URL, and with it the session id.
            raise SquizzRetryableError("TRANSPORT_ERROR", self._redact(f"{type(exc).__name__}: {exc}", secrets),
                                       f"could not reach SQUIZZ ({action.split('/')[0]})") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        reply = parse_reply(payload)
        if reply is None:
            code = f"HTTP_{response.status_code}"
            what = f"HTTP {response.status_code} without a SQUIZZ reply"
            if response.status_code in self._http.policy.statuses:
                raise SquizzRetryableError(code, what, "SQUIZZ kept failing after the transport retries")
            raise SquizzFatalError(code, what, f"unexpected reply to {action.split('/')[0]}")
        # A platform may echo the password or session id in its message, on success as on failure.
        reply = replace(reply, message=self._redact(reply.message, secrets))
        if not reply.ok:
            raise error_for(reply.code, reply.message, credential_env_names=self.credential_env_names)
        return reply

    def _redact(self, text: str, extra: Sequence[str] = ()) -> str:
        for secret in (self._api_password, self._api_key, self._session_id, *extra):
            if secret:
                text = text.replace(secret, "***")
        return text
