"""Sending a plan: batches, isolation of rejected records, per-record outcomes, pipelining.

Vendors such as SQUIZZ accept or reject a whole document; nothing public
describes per-record results. When a batch is rejected for its data, the
sender splits it in halves and resends each half until every rejected record
stands alone, so one bad record costs a few extra requests, never the rest of
the batch. Transport retries (429, 5xx, dropped connections) happen below
this layer, in the vendor client. Asynchronous targets are not bisected: a
failed job's records are rejected with the target's message (see jobs.py).

Batches go out pipelined (`send_pipelined`): while one request is in flight on
a worker thread, this one records the outcomes of the batch before it (the
ledger write) and builds and compresses the batch after it, so the run takes
about the longer of the client's time and the target's, not their sum. One
request is in flight at a time, never more (SQUIZZ answers BUSY to a second
concurrent import of an organisation), and the outcomes of each batch are
handed on in batch order, once the target answered. The price of the overlap:
a crash can leave two batches the target stored and the ledger lacks (the one
being recorded and the one in flight), so a rerun resends at most two batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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
        return _isolate(positions, rejected, send)


def _isolate(positions: Sequence[int], rejected: RecordsRejected, send: SendBatch) -> Outcomes:
    """Outcomes of `positions`, which the target just refused as one document."""
    if len(positions) == 1:
        return Outcomes(rejected={positions[0]: f"{rejected.code}: {rejected.vendor_message}"})
    middle = len(positions) // 2
    return send_isolating_rejects(positions[:middle], send).extend(send_isolating_rejects(positions[middle:], send))


def send_pipelined(batches: Iterable[range], prepare: Callable[[range], Any], deliver: Callable[[Any], None],
                   confirmed: Callable[[Outcomes], None]) -> None:
    """Send each range of positions as one document; while one is in flight, record the last and build the next.

    prepare(positions) builds a document (this thread); deliver(document) sends it (a worker thread) and
    raises RecordsRejected if the target refuses it, which is bisected here, one request at a time, before
    the next document leaves. confirmed(outcomes) is called once per batch, in batch order, on this thread,
    while the next batch's request is in flight. Any other error stops the sending: every batch before the
    one that failed has been confirmed, and nothing after it was sent. If confirmed itself fails (the store
    went away), the request in flight is let finish and nothing more is sent: at most two batches (the one
    being confirmed and the one in flight) landed without being confirmed.
    """
    def one_at_a_time(positions: range) -> None:  # halves of a range are ranges
        deliver(prepare(positions))

    def settle(positions: range, request: Future) -> Outcomes:
        try:
            request.result()
            return Outcomes(sent=list(positions))
        except RecordsRejected as rejected:
            return _isolate(positions, rejected, one_at_a_time)

    # Leaving the pool waits for the request in flight, whatever stopped the sending.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="b2b-send") as worker:
        in_flight: tuple[range, Future] | None = None
        for positions in batches:
            try:
                document = prepare(positions)  # overlaps the request in flight
            except BaseException:
                if in_flight is not None:  # it may have landed: record it before stopping
                    confirmed(settle(*in_flight))
                raise
            landed = settle(*in_flight) if in_flight is not None else None
            in_flight = (positions, worker.submit(deliver, document))
            if landed is not None:
                confirmed(landed)  # overlaps the request just sent
        if in_flight is not None:
            confirmed(settle(*in_flight))


def outcomes_frame(outcomes: Outcomes, keys: pd.api.extensions.ExtensionArray, hashes: np.ndarray) -> pd.DataFrame:
    """Outcomes as the ledger wants them: record_key, payload_hash, state, last_error, job_id (none).

    `keys` (Arrow-backed text) and `hashes` are aligned with the positions the outcomes name. A batch
    that landed whole is one slice of each; otherwise one take: never a Python string per record.
    """
    rejected = np.fromiter(outcomes.rejected, dtype=np.int64, count=len(outcomes.rejected))
    sent = np.asarray(outcomes.sent, dtype=np.int64)
    positions = np.concatenate([sent, rejected])
    whole = len(positions) and not len(rejected) and positions[-1] - positions[0] == len(positions) - 1
    picked = keys[positions[0]:positions[-1] + 1] if whole else keys.take(positions)
    states = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.array([0, 1], dtype=np.int8), [len(sent), len(rejected)])),
        pa.array([LedgerState.SENT.value, LedgerState.REJECTED.value])).cast(pa.large_string())
    errors = pa.concat_arrays([pa.nulls(len(sent), pa.large_string()),
                               pa.array(list(outcomes.rejected.values()), pa.large_string())])
    return pd.DataFrame({
        RECORD_KEY: pd.Series(picked, dtype="string[pyarrow]"),
        "payload_hash": hashes[positions].astype("int64"),
        "state": pd.Series(pd.arrays.ArrowStringArray(states)),
        "last_error": pd.Series(pd.arrays.ArrowStringArray(errors)),
        "job_id": pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(positions), pa.large_string()))),
    })
