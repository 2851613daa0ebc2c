"""One retrying HTTP session for every vendor client (SQUIZZ, the partner API; JOOR and Norce next).

    http = RetryingSession(RetryPolicy(budget_seconds=300, methods=frozenset({"GET", "POST"})))
    response = http.post(url, data=body, timeout=30)  # retried as below, then returned or raised

A call is retried for up to `budget_seconds` from its start (a time budget, not a number of tries,
so that a long bad patch at the vendor is ridden out in one run), with exponential backoff plus
random jitter, so that parallel clients do not retry in step:

- by urllib3's `Retry`: refused or reset connections, a connection closed before the reply, read
  timeouts, and replies whose status is in `statuses` (429 and 5xx). A `Retry-After` header is
  waited out as the server asks.
- by this session: a reply cut off mid-body (`ChunkedEncodingError`: IncompleteRead, a connection
  dropped while the body streams). urllib3 hands the response over once its headers are read, so
  its `Retry` never sees this; the whole request is sent again.

Every retry is logged as it happens (a WARNING on this module's logger): the method, the URL's path
with anything that looks like a credential masked (a vendor may put a session id there; the query
string and the host's user info are never shown), the status or error, which attempt it was, and
how long the session waits before the next one.

When the budget is spent, the last reply is returned (a 429 or 5xx, for the client to report) or
the last error is raised, as plain `requests` would. Only methods in `methods` are retried.

Put POST in `methods` only for calls that are safe to repeat: a request whose reply was lost may
have been carried out. SQUIZZ's import_esd upserts by key, so a resent document leaves the same
records (the platform may charge its tokens twice); a resent create_session opens a second session,
which expires unused.
"""

from __future__ import annotations

import logging
import math
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# urllib3 counts tries; the time budget is what ends retrying, so the count is only a backstop.
_MAX_TRIES = 10_000

# When the call in progress on this thread must stop retrying (monotonic clock).
_deadline: ContextVar[float] = ContextVar("b2b_http_deadline", default=math.inf)
# A path segment that may be a credential: long, and not a plain word (SQUIZZ's session ids are 32 hex digits).
_SECRET_LIKE = re.compile(r"(?<=/)(?=[^/\s]*\d)[A-Za-z0-9._~%+=-]{16,}(?![A-Za-z0-9._~%+=-])")


def redacted_path(url: str) -> str:
    """The path of `url` for a log line: no host, user info, query or fragment, credential-like segments as ***."""
    return _SECRET_LIKE.sub("***", urlsplit(url).path) or "/"


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how patiently one HTTP call is retried."""

    budget_seconds: float = 300.0
    backoff_factor: float = 0.5  # waits grow as factor * 2**(n-1) seconds ...
    backoff_max: float = 30.0  # ... up to this
    backoff_jitter: float = 1.0  # plus a random 0..jitter seconds
    statuses: frozenset[int] = TRANSIENT_STATUSES
    methods: frozenset[str] = frozenset({"GET"})

    def urllib3_retry(self) -> Retry:
        return _BudgetedRetry(
            total=_MAX_TRIES, backoff_factor=self.backoff_factor, backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter, status_forcelist=self.statuses, allowed_methods=self.methods,
            respect_retry_after_header=True,
            raise_on_status=False,  # hand back the last reply, so the client can say what the vendor answered
        )


class _BudgetedRetry(Retry):
    """urllib3's `Retry`, also exhausted once the current call's time budget is spent."""

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or time.monotonic() >= _deadline.get()

    def sleep(self, response=None) -> None:  # noqa: ANN001 - urllib3's signature
        """urllib3's wait (Retry-After when the reply has one, else the jittered backoff), logged first."""
        wait = self.get_retry_after(response) if self.respect_retry_after_header and response else None
        wait = wait or self.get_backoff_time()
        last = self.history[-1] if self.history else None
        if last is not None:
            why = (f"answered {last.status}" if last.status else  # an error's text may quote the path
                   _SECRET_LIKE.sub("***", f"failed ({type(last.error).__name__}: {last.error})"))
            left = _deadline.get() - time.monotonic()
            log.warning("%s %s %s; attempt %d failed, trying again in %.1f s (%s)", last.method,
                        redacted_path(str(last.url)), why, len(self.history), wait,
                        f"{left:.0f} s of the time budget left" if math.isfinite(left) else "no time budget")
        if wait > 0:
            time.sleep(wait)


class RetryingSession(requests.Session):
    """A `requests.Session` that retries transient faults per its `RetryPolicy` (see the module docstring)."""

    def __init__(self, policy: RetryPolicy = RetryPolicy()) -> None:
        super().__init__()
        self.policy = policy
        self._retry = policy.urllib3_retry()
        adapter = HTTPAdapter(max_retries=self._retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:  # noqa: ANN002, ANN003
        budget = _deadline.set(time.monotonic() + self.policy.budget_seconds)
        retry = self._retry
        try:
            while True:
                try:
                    return super().request(method, url, *args, **kwargs)
                except requests.exceptions.ChunkedEncodingError as cut:
                    try:
                        retry = retry.increment(method.upper(), str(url), error=ProtocolError(str(cut)))
                    except (MaxRetryError, ProtocolError):  # budget spent, or a method not safe to repeat
                        raise cut from None
                    retry.sleep()  # logs the retry
        finally:
            _deadline.reset(budget)
