"""Step retries for outbound assets: only when the target could not be reached, never for what it said.

Each vendor client already rides out short faults inside one call (targets/core/http.py: a time
budget of retries with backoff for 429, 5xx, refused or dropped connections and timeouts). When
that budget is spent the client raises its own error (SquizzRetryableError, JoorUnavailable,
NorceError, FtpError) from the transport exception; `raise ... from None` hides the exception
from tracebacks but keeps it as `__context__`, which is how a transport failure is recognised
here whatever the vendor. The step is then retried by Dagster (dg.RetryRequested) a few times,
minutes apart: the ledger holds what the target confirmed before the failure, so the retry sends
only the rest.

Not retried: records the target refused (the core keeps those as `rejected`, the step succeeds),
refused credentials or configuration, a lock held by another run, a reply the client did not
understand, and a 429/5xx reply still coming back when the budget ran out (the client raises
without a transport exception behind it). A blanket dg.RetryPolicy would retry all of those too.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator

import dagster as dg
import requests

MAX_RETRIES = 2
FIRST_WAIT_SECONDS = 60.0  # then doubled per retry, plus up to JITTER_SECONDS so that runs do not retry in step
JITTER_SECONDS = 30.0

TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    ConnectionError, TimeoutError)


def transport_failure(exc: BaseException) -> BaseException | None:
    """The transport exception behind `exc` (itself, its cause or its context), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TRANSPORT_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def wait_before_retry(retry_number: int) -> float:
    return FIRST_WAIT_SECONDS * 2 ** retry_number + random.uniform(0, JITTER_SECONDS)


def retry_transport_failures(body: Callable[..., Iterator]) -> Callable[..., Iterator]:
    """Wrap an outbound asset's body (a generator taking the context first): a transport failure asks
    Dagster to run the step again, up to MAX_RETRIES times; any other failure fails it as before."""

    @functools.wraps(body)
    def wrapped(context: dg.AssetExecutionContext, *args, **kwargs) -> Iterator:  # noqa: ANN002, ANN003
        try:
            yield from body(context, *args, **kwargs)
        except Exception as exc:
            if transport_failure(exc) is None:
                raise
            wait = wait_before_retry(context.retry_number)
            context.log.warning(f"could not reach the target ({type(exc).__name__}: {exc}); the step is retried "
                                f"in {wait:.0f} s unless it has used its {MAX_RETRIES} retries")
            raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=wait) from exc

    return wrapped
