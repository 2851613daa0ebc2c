"""Sending a plan: batches, isolation of rejected records, per-record outcomes.

Vendors such as SQUIZZ accept or reject a whole document; nothing public
describes per-record results. When a batch is rejected for its data, the
sender splits it in halves and resends each half until every rejected record
stands alone, so one bad record costs a few extra requests, never the rest of
the batch. Transport retries (429, 5xx, dropped connections) happen below
this layer, in the vendor client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from b2b_assets.targets.core.plan import LedgerState


class RecordsRejected(Exception):
    """The target refused a document because of its records (not a transport or account problem)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.vendor_message = message


@dataclass
class Outcome:
    record_key: str
    state: LedgerState
    error: str | None = None


SendBatch = Callable[[Sequence[int]], None]
"""Sends the records at these positions of the batch source as one document; raises RecordsRejected."""


def send_isolating_rejects(positions: Sequence[int], send: SendBatch, keys: Sequence[str]) -> list[Outcome]:
    """Send `positions` as one document; on rejection bisect until the bad records stand alone."""
    try:
        send(positions)
        return [Outcome(keys[p], LedgerState.SENT) for p in positions]
    except RecordsRejected as rejected:
        if len(positions) == 1:
            return [Outcome(keys[positions[0]], LedgerState.REJECTED, f"{rejected.code}: {rejected.vendor_message}")]
        middle = len(positions) // 2
        return (send_isolating_rejects(positions[:middle], send, keys)
                + send_isolating_rejects(positions[middle:], send, keys))


def outcomes_frame(outcomes: list[Outcome], hashes: pd.Series) -> pd.DataFrame:
    """Outcomes as the ledger wants them: record_key, payload_hash, state, last_error."""
    frame = pd.DataFrame({
        "record_key": pd.Series([o.record_key for o in outcomes], dtype="string"),
        "state": pd.Series([o.state.value for o in outcomes], dtype="string"),
        "last_error": pd.Series([o.error for o in outcomes], dtype="string"),
    })
    frame["payload_hash"] = frame["record_key"].map(hashes).astype("int64")
    return frame[["record_key", "payload_hash", "state", "last_error"]]
