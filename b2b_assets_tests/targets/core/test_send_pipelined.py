"""send_pipelined: while one batch is in flight, the last is recorded and the next prepared; one request at a time.

The deliveries here are plain functions on the worker thread that record what they saw; the waits
have a generous timeout only so that a broken pipeline fails instead of hanging.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from b2b_assets.targets.core.contract import RECORD_KEY, RecordsRejected
from b2b_assets.targets.core.send import Outcomes, outcomes_frame, send_pipelined

WAIT = 10.0


class Recorder:
    def __init__(self, bad: set[int] = frozenset(), fail_at: int | None = None):
        self.bad, self.fail_at = bad, fail_at
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.prepared: list[range] = []
        self.delivered: list[range] = []
        self.confirmed: list = []

    def prepare(self, positions: range) -> range:
        self.prepared.append(positions)
        return positions

    def deliver(self, positions: range) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if positions.start == self.fail_at:
                raise ConnectionError("the platform went away")
            if any(p in self.bad for p in positions):
                raise RecordsRejected("BAD", f"refused {list(positions)}")
            self.delivered.append(positions)
        finally:
            with self.lock:
                self.in_flight -= 1


def batches(total: int, size: int) -> list[range]:
    return [range(s, min(s + size, total)) for s in range(0, total, size)]


def test_the_next_batch_is_prepared_while_the_current_one_is_in_flight():
    changed = threading.Condition()
    seen: list[range] = []
    overlapped: list[bool] = []

    def prepare(positions: range) -> range:
        with changed:
            seen.append(positions)
            changed.notify_all()
        return positions

    def deliver(positions: range) -> None:
        if positions.stop < 30:  # every batch but the last has a successor, prepared while this one is out
            with changed:
                overlapped.append(changed.wait_for(lambda: seen[-1].start == positions.stop, WAIT))

    confirmed: list = []
    send_pipelined(batches(30, 10), prepare, deliver, confirmed.append)
    assert overlapped == [True, True]
    assert [o.sent for o in confirmed] == [list(range(0, 10)), list(range(10, 20)), list(range(20, 30))]


def test_each_batch_is_recorded_while_the_next_request_is_in_flight():
    changed = threading.Condition()
    in_flight: set[int] = set()  # first positions of the batches being delivered
    confirmed_up_to = [0]
    overlapped: list[bool] = []

    def deliver(positions: range) -> None:
        with changed:
            in_flight.add(positions.start)
            changed.notify_all()
            # Stays in flight until the batch before it was recorded (or the wait gives up, on a broken pipeline).
            changed.wait_for(lambda: confirmed_up_to[0] >= positions.start, WAIT)
            in_flight.discard(positions.start)

    def confirmed(outcomes: Outcomes) -> None:
        after = outcomes.sent[-1] + 1
        with changed:
            if after < 30:  # every batch but the last has a successor, in flight while this one is recorded
                overlapped.append(changed.wait_for(lambda: after in in_flight, WAIT))
            confirmed_up_to[0] = after
            changed.notify_all()

    send_pipelined(batches(30, 10), lambda positions: positions, deliver, confirmed)
    assert overlapped == [True, True]
    assert confirmed_up_to == [30]


def test_a_failed_ledger_write_lets_the_request_in_flight_finish_and_sends_nothing_more():
    recorder = Recorder()

    def confirmed(outcomes: Outcomes) -> None:
        if outcomes.sent[0] == 20:
            raise ConnectionError("the store went away")
        recorder.confirmed.append(outcomes)

    with pytest.raises(ConnectionError, match="the store went away"):
        send_pipelined(batches(60, 10), recorder.prepare, recorder.deliver, confirmed)
    assert [o.sent[0] for o in recorder.confirmed] == [0, 10]
    # Landed but not recorded: the batch whose write failed and the one in flight meanwhile, no more.
    assert [r.start for r in recorder.delivered] == [0, 10, 20, 30]
    assert recorder.most_in_flight == 1


def test_one_request_at_a_time_outcomes_in_order_and_rejects_isolated():
    recorder = Recorder(bad={13, 27})
    send_pipelined(batches(40, 10), recorder.prepare, recorder.deliver, recorder.confirmed.append)
    assert recorder.most_in_flight == 1
    assert [sorted(o.sent + list(o.rejected)) for o in recorder.confirmed] == [
        list(range(s, s + 10)) for s in range(0, 40, 10)]
    rejected = {p: reason for o in recorder.confirmed for p, reason in o.rejected.items()}
    assert sorted(rejected) == [13, 27] and rejected[13] == "BAD: refused [13]"


def test_a_failure_stops_the_stream_after_the_batches_before_it_were_confirmed():
    recorder = Recorder(fail_at=20)
    with pytest.raises(ConnectionError):
        send_pipelined(batches(50, 10), recorder.prepare, recorder.deliver, recorder.confirmed.append)
    assert [o.sent[0] for o in recorder.confirmed] == [0, 10]  # not the failed batch, nothing after it
    assert [r.start for r in recorder.delivered] == [0, 10]
    assert recorder.most_in_flight == 1


def test_the_ledger_frame_names_each_records_own_key_and_hash_whole_or_partly_rejected():
    keys = pd.Series([f"K{i}" for i in range(10)], dtype="string[pyarrow]").array
    hashes = np.arange(100, 110, dtype=np.int64)
    whole = outcomes_frame(Outcomes(sent=list(range(3, 7))), keys, hashes)
    assert whole[RECORD_KEY].tolist() == ["K3", "K4", "K5", "K6"]
    assert whole["payload_hash"].tolist() == [103, 104, 105, 106]
    assert set(whole["state"]) == {"sent"} and whole["last_error"].isna().all()

    partly = outcomes_frame(Outcomes(sent=[3, 4, 6], rejected={5: "BAD: no such tax code"}), keys, hashes)
    rows = {r[RECORD_KEY]: r for r in partly.to_dict("records")}
    assert rows["K5"]["state"] == "rejected" and rows["K5"]["last_error"] == "BAD: no such tax code"
    assert rows["K5"]["payload_hash"] == 105 and rows["K6"]["payload_hash"] == 106
    assert [rows[k]["state"] for k in ("K3", "K4", "K6")] == ["sent"] * 3
