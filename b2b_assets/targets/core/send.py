"""Sending a plan: batches, isolation of rejected records, per-record outcomes.

Vendors such as SQUIZZ accept or reject a whole document; nothing public
describes per-record results. When a batch is rejected for its data, the
sender splits it in halves and resends each half until every rejected record
stands alone, so one bad record costs a few extra requests, never the rest of
the batch. Transport retries (429, 5xx, dropped connections) happen below
this layer, in the vendor client. Asynchronous targets are not bisected: a
failed job's records are rejected with the target's message (see jobs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from b2b_assets.targets.core.contract import RECORD_KEY, LedgerState, RecordsRejected


@dataclass
class Outcomes:
    """What the target said about the records at these positions of the records being sent."""

    sent: list[int] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)  # position -> vendor code and message

    def extend(self, other: Outcomes) -> Outcomes:
        self.sent += other.sent
        self.rejected.update(other.rejected)
        return self


SendBatch = Callable[[Sequence[int]], None]
"""Sends the records at these positions of the batch source as one document; raises RecordsRejected."""


def send_isolating_rejects(positions: Sequence[int], send: SendBatch) -> Outcomes:
    """Send `positions` as one document; on rejection bisect until the bad records stand alone."""
    try:
        send(positions)
        return Outcomes(sent=list(positions))
    except RecordsRejected as rejected:
        if len(positions) == 1:
            return Outcomes(rejected={positions[0]: f"{rejected.code}: {rejected.vendor_message}"})
        middle = len(positions) // 2
        return send_isolating_rejects(positions[:middle], send).extend(
            send_isolating_rejects(positions[middle:], send))


def outcomes_frame(outcomes: Outcomes, keys: np.ndarray, hashes: np.ndarray) -> pd.DataFrame:
    """Outcomes as the ledger wants them: record_key, payload_hash, state, last_error.

    `keys` and `hashes` are aligned with the positions the outcomes name.
    """
    rejected = np.fromiter(outcomes.rejected, dtype=np.int64, count=len(outcomes.rejected))
    positions = np.concatenate([np.asarray(outcomes.sent, dtype=np.int64), rejected])
    states = np.repeat([LedgerState.SENT.value, LedgerState.REJECTED.value], [len(outcomes.sent), len(rejected)])
    errors = [None] * len(outcomes.sent) + list(outcomes.rejected.values())
    return pd.DataFrame({
        RECORD_KEY: pd.Series(keys[positions], dtype="string"),
        "payload_hash": hashes[positions].astype("int64"),
        "state": pd.Series(states, dtype="string"),
        "last_error": pd.Series(errors, dtype="string"),
    })
