"""What an outbound asset tells people while it works: a line per batch, and every HTTP retry, in the run's log.

`BatchProgress` is `sync_object`'s `on_progress` callback. Each batch the target confirmed gives a
line such as

    squizz/products: 1500 of 10000 records (15%), 250 records/s, about 34 s to go

in the run's log (the UI), and the same numbers as a record on the `b2b_assets.progress` logger,
which the CLI's progress bar follows. `retries_logged(log)` puts the retrying HTTP session's WARNING
lines (targets/core/http.py, credentials already masked) in the run's log while a step runs; they
would otherwise only reach the step's stderr.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

PROGRESS_LOGGER = logging.getLogger("b2b_assets.progress")
PROGRESS = "b2b_progress"  # the LogRecord attribute with (asset, done, total)
HTTP_LOGGER = "b2b_assets.targets.core.http"
# A line per batch, but no more often than this: a million records in batches of 500 would be 2000 lines.
MIN_SECONDS_BETWEEN_LINES = 2.0
CONFIRMED = ("sent", "rejected", "submitted", "deleted", "charged")


class BatchProgress:
    """The per-batch callback: keeps what the target confirmed so far, and logs records done of the total."""

    def __init__(self, log: logging.Logger, asset: str) -> None:
        self.log, self.asset = log, asset
        self.confirmed = dict.fromkeys(CONFIRMED, 0)
        self._baseline: int | None = None  # done before this run's first batch (earlier runs' jobs settling)
        self._started = self._last_line = time.monotonic()

    def __call__(self, counts: dict[str, int]) -> None:
        self.confirmed.update({k: counts[k] for k in CONFIRMED if k in counts})
        total = int(counts.get("to_send", 0))
        done = counts.get("sent", 0) + counts.get("rejected", 0) + counts.get("submitted", 0)
        if self._baseline is None:
            self._baseline, self._started = done, time.monotonic()
        done = min(total, done - self._baseline)
        if total == 0:
            return
        PROGRESS_LOGGER.info("%s: %d of %d records", self.asset, done, total,
                             extra={PROGRESS: (self.asset, done, total)})
        now = time.monotonic()
        if 0 < done < total and now - self._last_line < MIN_SECONDS_BETWEEN_LINES:
            return
        self._last_line = now
        self.log.info(self.line(done, total, now - self._started))

    def line(self, done: int, total: int, elapsed: float) -> str:
        if done == 0:
            return f"{self.asset}: sending {total} records"
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self.asset}: {done} of {total} records ({100 * done // total}%)"
        if rate > 0:
            text += f", {rate:.0f} records/s"
            if done < total:
                text += f", about {(total - done) / rate:.0f} s to go"
        return text


class _ToRunLog(logging.Handler):
    def __init__(self, log: logging.Logger) -> None:
        super().__init__(logging.INFO)
        self.run_log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.warning(record.getMessage())


@contextmanager
def retries_logged(log: logging.Logger) -> Iterator[None]:
    """While the block runs, every retry of the core's HTTP session is also a WARNING in the run's log."""
    handler, http = _ToRunLog(log), logging.getLogger(HTTP_LOGGER)
    http.addHandler(handler)
    try:
        yield
    finally:
        http.removeHandler(handler)
