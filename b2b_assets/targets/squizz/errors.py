"""SQUIZZ result codes and the exceptions they become.

Three kinds of failure call for three different reactions upstream:
retryable (the platform is busy: wait and try again), document rejected (the
records are bad: the outbound core bisects the batch to isolate them), fatal
(account or configuration: stop and tell a person what to fix).
No message here ever carries a credential or a session id.
"""

from __future__ import annotations

SUCCESS = "SERVER_SUCCESS"
SESSION_INVALID = "SERVER_ERROR_SESSION_INVALID"
INCORRECT_API_CREDENTIALS = "SERVER_ERROR_INCORRECT_API_CREDENTIALS"
ORG_NOT_FOUND = "SERVER_ERROR_ORG_NOT_FOUND"


class SquizzError(Exception):
    """A SQUIZZ call failed. `code` is the vendor's result code, `vendor_message` its text (may be empty)."""

    def __init__(self, code: str, vendor_message: str = "", hint: str = ""):
        self.code = code
        self.vendor_message = vendor_message or ""
        self.hint = hint
        text = f"{code}: {self.vendor_message}" if self.vendor_message else code
        super().__init__(f"{hint} ({text})" if hint else text)


class SquizzRetryableError(SquizzError):
    """Worth trying again later: the platform is busy, overloaded or unreachable."""


class SquizzSessionInvalid(SquizzRetryableError):
    """The session expired; the client re-creates it once before letting this escape."""


class SquizzDocumentRejected(SquizzError):
    """The platform refused the document because of its content; the records, not the account, are at fault."""


class SquizzFatalError(SquizzError):
    """Account, credentials or configuration: retrying will not help until a person fixes something."""


RETRYABLE_CODES = frozenset({
    "SERVER_ERROR_DATA_IMPORT_BUSY",
    "SERVER_ERROR_DATA_IMPORT_MAX_IMPORTS_RUNNING",
})
DOCUMENT_CODES = frozenset({
    "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL",
    "SERVER_ERROR_ESD_DOCUMENT_NO_RECORD",
    "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED",
    "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES",
    "SERVER_ERROR_DATA_JSON_WRONG_CONTENT_TYPE",
    "SERVER_ERROR_DATA_JSON_MALFORMED",
    "SERVER_ERROR_DATA_IMPORT_ABORTED",
    "SERVER_ERROR_DATA_IMPORT_NOT_FOUND",
})
# Every other code is fatal (error_for's fallback); these get a hint saying what to fix.
_FATAL_HINTS = {
    "SERVER_ERROR_ORG_INACTIVE": "the SQUIZZ organisation is inactive; reactivate it in SQUIZZ",
    "SERVER_ERROR_PERMISSION_DENIED": "the SQUIZZ API key lacks permission to import data; grant it in SQUIZZ",
    "SERVER_ERROR_INSUFFICIENT_CREDIT": "the SQUIZZ organisation is out of trading tokens; buy more before syncing",
    "SERVER_ERROR_INVALID_API_ACTION": "SQUIZZ does not know this API action; check the client's base URL",
    "SERVER_ERROR_DATA_IMPORT_MISSING_IMPORT_TYPE": "SQUIZZ does not know this import type id",
}


def error_for(code: str, vendor_message: str = "", *, credential_env_names: tuple[str, ...] = ()) -> SquizzError:
    """The exception for a failed call's result code; an unrecognised code is treated as fatal."""
    if code == SESSION_INVALID:
        return SquizzSessionInvalid(code, vendor_message)
    if code in RETRYABLE_CODES:
        return SquizzRetryableError(code, vendor_message)
    if code in DOCUMENT_CODES:
        return SquizzDocumentRejected(code, vendor_message)
    if code == INCORRECT_API_CREDENTIALS:
        return SquizzFatalError(code, vendor_message,
                                f"SQUIZZ rejected the API credentials: check {_names(credential_env_names)}")
    if code == ORG_NOT_FOUND:
        org_var = credential_env_names[0] if credential_env_names else "the organisation id"
        return SquizzFatalError(code, vendor_message, f"SQUIZZ does not know the organisation: check {org_var}")
    return SquizzFatalError(code, vendor_message, _FATAL_HINTS.get(code, "SQUIZZ refused the call"))


def _names(names: tuple[str, ...]) -> str:
    if not names:
        return "the organisation id, API key and API password"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
