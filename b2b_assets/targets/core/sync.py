"""Sync one target object: settle open jobs, plan, send the changes in batches, record what the target confirmed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import TEXT_DTYPE, key_isin, key_positions
from b2b_assets.targets.core.contract import (
    RECORD_KEY, AsyncSender, Batch, LedgerState, PartsSender, Payload, PreparingSender, RecordsRejected, Sender,
    TargetObject,
)
from b2b_assets.targets.core.jobs import Settled, settle_open_jobs
from b2b_assets.targets.core.payload_parts import PayloadParts
from b2b_assets.targets.core.plan import HELD, INVALID, PENDING, TO_SEND, UNCHANGED, DeletionPolicy, Plan, plan
from b2b_assets.targets.core.send import Outcomes, outcomes_frame, send_pipelined

Progress = Callable[[dict[str, int]], None]
"""Told the running counts (sent, rejected, submitted, deleted, charged) after every ledger write, and
`to_send`: how many records this run sends in all."""


@dataclass
class SyncReport:
    target: str
    entity: str
    counts: dict[str, int]
    dry_run: bool
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)  # record_key, state, reason (rejected, held, invalid)
    would_send: pd.Series = field(default_factory=lambda: pd.Series([], dtype="string"))  # dry run: keys it would send
    refusal: str | None = None  # dry run: why the real run would refuse its deletions or full refresh
    skipped: str | None = None  # why the object was not planned at all (pipeline/outbound_marks.py)
    # Confirmed records gone from the source that this run left at the target (deletions off or refused).
    gone: pd.Series = field(default_factory=lambda: pd.Series([], dtype="string"))

    @property
    def metadata(self) -> dict[str, int]:
        """The standard outbound metadata (DESIGN.md conventions), plain ints for the UI's plots."""
        c = self.counts
        return {
            "records_total": c["total"],
            "records_sent": c["sent"],
            "records_unchanged": c[UNCHANGED],
            "records_rejected": c["rejected"],
            "records_held": c[HELD],
            "records_submitted": c["submitted"],
            "records_deleted": c["deleted"],
        }


def sync_entity(*, target: str, obj: TargetObject, payload: Payload | PayloadParts, hashes: pd.Series | pd.DataFrame,
                ledger,
                sender: Sender | None, batch_size: int = 500, held: pd.Series | None = None,
                invalid: pd.Series | None = None, dry_run: bool = False, full_refresh: bool = False,
                deletions: DeletionPolicy = DeletionPolicy(), poll_budget_seconds: float = 60.0,
                on_progress: Progress | None = None, ledger_rows: pd.DataFrame | None = None,
                settled: Settled | None = None) -> SyncReport:
    """Plan `payload.records` against the ledger and send what changed.

    hashes: one per row of `payload.records`; or, when the caller planned in key ranges and kept
    only the records a run may send or must record, a frame (record_key, payload_hash) of every
    record in the source. payload: the mapped payload, or its parts in order (PayloadParts: a ranged
    plan spills them to disk, and they are read back a part at a time as they are sent, so what
    the run holds does not grow with what it sends). ledger_rows: the object's ledger rows, if the
    caller has read them already (for an asynchronous sender, only after settling its open jobs itself, which
    `settled` then reports: settling them here would change the rows).
    The ledger is written after every batch the target confirmed (or every job
    it accepted), so a run that dies half-way keeps what was acknowledged and
    resends only the rest next time: at most two batches more (the one being
    written and the one in flight, `send_pipelined`).
    """
    entity = obj.name
    parts = payload if isinstance(payload, PayloadParts) else PayloadParts.in_memory(payload)
    record_keys = parts.keys()
    deadline = time.monotonic() + poll_budget_seconds
    asynchronous = isinstance(sender, AsyncSender)
    # charged: what the target bills for, the records it accepted (synchronous) or took into a job (asynchronous).
    running = {"sent": 0, "rejected": 0, "submitted": 0, "deleted": 0, "charged": 0}
    problems: list[pd.DataFrame] = []
    if asynchronous and not dry_run:
        _absorb(settle_open_jobs(target, entity, ledger, sender, deadline) if settled is None else settled,
                running, problems)

    complete = full_refresh and obj.mode.full_refresh
    if complete and asynchronous:
        raise ValueError(f"{target}/{entity}: a COMPLETE batch needs a synchronous sender: the core must know it "
                         "landed before it records what the target deactivated")
    if ledger_rows is not None and asynchronous and not dry_run and settled is None:
        raise ValueError(f"{target}/{entity}: ledger rows read before the open jobs settled would be stale")
    present = hashes if isinstance(hashes, pd.DataFrame) else pd.DataFrame(
        {RECORD_KEY: record_keys.to_numpy(), "payload_hash": hashes.to_numpy()})
    the_plan: Plan = plan(target, entity, present, ledger.load(target, entity) if ledger_rows is None else ledger_rows,
                          held_reasons=held, invalid_reasons=invalid, full_refresh=full_refresh, complete=complete,
                          deletions=deletions, enforce=not dry_run)
    counts = the_plan.counts()
    counts["total"] = int(len(present))
    parked = the_plan.records[the_plan.records["action"].isin((HELD, INVALID))]
    problems.insert(0, parked[[RECORD_KEY, "action", "reason"]].rename(columns={"action": "state"}))
    planned = the_plan.records.loc[the_plan.records["action"].isin(TO_SEND).to_numpy(), [RECORD_KEY, "payload_hash"]]
    sending = key_isin(record_keys, planned[RECORD_KEY])
    if sending.sum() != len(planned):
        raise RuntimeError(f"{target}/{entity}: the payload lacks {len(planned) - int(sending.sum())} of the "
                           "records the plan sends")
    if complete and sending.sum() > obj.mode.full_refresh_max_records:
        raise ValueError(f"{target}/{entity}: a full refresh sends one COMPLETE batch, and {int(sending.sum())} "
                         f"records exceed the {obj.mode.full_refresh_max_records} this project puts in one")
    if dry_run:
        counts.update(sent=0, rejected=0, submitted=counts[PENDING], would_send=counts["new"] + counts["changed"])
        return SyncReport(target, entity, counts, True, _problems(problems),
                          the_plan.keys(*TO_SEND).astype("string").reset_index(drop=True), the_plan.refusal)

    # Held and locally invalid records are recorded too: every record ends the run in one named state.
    if not parked.empty:
        ledger.record(target, entity, pd.DataFrame({
            RECORD_KEY: parked[RECORD_KEY],
            "payload_hash": parked["payload_hash"].astype("int64"),
            "state": parked["action"].map({HELD: LedgerState.HELD.value, INVALID: LedgerState.REJECTED.value}),
            "last_error": parked["reason"],
        }))

    # What is sent, in payload order: its keys and hashes held whole, its records read a part at a time.
    # The plan's frame of every record is let go first (5M prices: a few hundred MB).
    keys = record_keys[sending].astype(TEXT_DTYPE).reset_index(drop=True).array  # Arrow text: slices, not objects
    send_hashes = _planned_hashes(keys, planned)
    del record_keys, planned, parked
    the_plan.records = the_plan.records.iloc[:0]
    in_parts = obj.mode.one_batch and not complete and isinstance(sender, PartsSender)
    whole = complete or (obj.mode.one_batch and not in_parts)  # one batch of everything, gathered in memory
    sent_parts = _SentParts(PayloadParts.in_memory(parts.whole()) if whole else parts, sending,
                            len(keys) if whole or in_parts else batch_size)  # in_parts: a batch per part

    def report() -> None:
        if on_progress:
            on_progress({**running, "to_send": len(keys)})

    def confirmed(outcomes) -> None:
        frame = outcomes_frame(outcomes, keys, send_hashes)
        ledger.record(target, entity, frame)
        bad = frame[frame["state"] == LedgerState.REJECTED.value]
        running["sent"] += len(frame) - len(bad)
        running["charged"] += len(frame) - len(bad)
        running["rejected"] += len(bad)
        problems.append(bad.rename(columns={"last_error": "reason"})[[RECORD_KEY, "state", "reason"]])
        report()

    report()  # before the first batch: what settled of earlier runs' jobs is not this run's progress
    if asynchronous:
        for positions in sent_parts.batches():
            part = slice(positions.start, positions.stop)
            job_id = sender.submit(sent_parts.batch(obj, positions))
            ledger.record(target, entity, pd.DataFrame({
                RECORD_KEY: keys[part], "payload_hash": send_hashes[part],
                "state": LedgerState.SUBMITTED.value, "last_error": pd.NA, "job_id": job_id}))
            running["submitted"] += len(positions)
            running["charged"] += len(positions)
            report()
    elif in_parts:
        if len(keys):  # one delivery, confirmed whole
            sender.send_parts(sent_parts.batch(obj, positions) for positions in sent_parts.batches())
            confirmed(Outcomes(sent=list(range(len(keys)))))
    else:
        prepare, deliver = _pipeline(sender, obj, sent_parts, complete)
        send_pipelined(sent_parts.batches(), prepare, deliver, confirmed)

    if complete and len(keys) and len(the_plan.deactivations):
        # The COMPLETE batch landed: the target has deactivated every confirmed record it lacked.
        _record_deleted(ledger, target, entity, the_plan.deactivations)
        running["deleted"] += len(the_plan.deactivations)
        report()
    delete = getattr(sender, "delete", None)
    if obj.mode.deletes and delete is not None and len(the_plan.deletions) and not the_plan.deletions_blocked:
        gone = pd.DataFrame({RECORD_KEY: the_plan.deletions})
        for start in range(0, len(gone), max(1, batch_size)):
            batch = gone.iloc[start:start + batch_size]
            delete(Batch(obj, parts.template, batch))
            _record_deleted(ledger, target, entity, batch[RECORD_KEY])
            running["deleted"] += len(batch)
            report()

    if asynchronous:
        settled = settle_open_jobs(target, entity, ledger, sender, deadline)
        _absorb(settled, running, problems)
        running["submitted"] = settled.still_open
    else:
        running["submitted"] = counts[PENDING]
    counts.update(sent=running["sent"], rejected=running["rejected"] + counts[INVALID],
                  deleted=running["deleted"], submitted=running["submitted"], charged=running["charged"])
    left = the_plan.deletions if not running["deleted"] else pd.Series([], dtype="string")
    return SyncReport(target, entity, counts, False, _problems(problems), gone=left.astype("string"))


def _pipeline(sender, obj: TargetObject, sent_parts: _SentParts, complete: bool):
    """(prepare, deliver) for send_pipelined: the sender's own halves where it has them, else its send."""
    def batch(positions: range) -> Batch:
        return sent_parts.batch(obj, positions, complete)

    if isinstance(sender, PreparingSender):
        prepare, send = (lambda positions: sender.prepare(batch(positions))), sender.deliver
    else:
        prepare, send = batch, sender.send
    if not complete:
        return prepare, send

    def deliver_complete(document) -> None:
        try:
            send(document)
        except RecordsRejected as rejected:
            # Splitting a COMPLETE batch would deactivate everything outside each half.
            raise RuntimeError(f"{obj.name}: the full refresh batch was refused, nothing changed: "
                               f"{rejected}") from rejected
    return prepare, deliver_complete


def _planned_hashes(keys, planned: pd.DataFrame) -> np.ndarray:
    """The planned hash of each key sent. The plan lists them in payload order, so this is mostly a copy."""
    hashes = planned["payload_hash"].to_numpy(dtype="int64")
    sent, listed = (pa.array(pd.Series(k).astype(TEXT_DTYPE).array).cast(pa.large_string())
                    for k in (keys, planned[RECORD_KEY]))
    if len(sent) == len(listed) and pc.all(pc.equal(sent, listed)).as_py() is not False:
        return hashes
    return hashes[key_positions(pd.Series(keys), planned[RECORD_KEY])]


class _SentParts:
    """The records being sent as batches of positions (0 .. sent - 1), read a part of the payload at a time.

    A batch never spans two parts; the parts are large (PayloadParts gathers them), so batches are full
    but at a part's end. The part of the batch being built and that of the batch in flight (which may
    still be split in halves, `send_pipelined`) are the only ones held.
    """

    def __init__(self, parts: PayloadParts, sending: np.ndarray, size: int):
        self.parts, self.sending, self.size = parts, sending, max(1, size)
        self.held: dict[int, Payload] = {}  # first position -> the part's records being sent, as a payload

    def batches(self) -> Iterator[range]:
        offset, sent = 0, 0  # in the payload, in what is sent
        for part in self.parts:
            chosen = self.sending[offset:offset + len(part.records)]
            offset += len(part.records)
            if not chosen.any():
                continue
            latest = max(self.held, default=None)  # the part of the batch in flight, if any
            self.held = {} if latest is None else {latest: self.held[latest]}
            if not chosen.all():  # a first sync sends whole parts: no copy then
                records = part.records[chosen].reset_index(drop=True)
                children = part.children_of(records)
                part = dataclasses.replace(
                    part, records=records, children=None if children is None else children.reset_index(drop=True))
            self.held[sent] = part
            records = part.records
            for start in range(0, len(records), self.size):
                yield range(sent + start, sent + min(start + self.size, len(records)))
            sent += len(records)

    def batch(self, obj: TargetObject, positions: range, complete: bool = False) -> Batch:
        start = max(s for s in self.held if s <= positions.start)
        payload = self.held[start]
        return Batch(obj, payload, payload.records.iloc[positions.start - start:positions.stop - start],
                     complete=complete)


def _absorb(settled, running: dict[str, int], problems: list[pd.DataFrame]) -> None:
    running["sent"] += settled.sent
    running["rejected"] += settled.rejected
    if settled.problems is not None:
        problems.append(settled.problems)


def _record_deleted(ledger, target: str, entity: str, keys: pd.Series) -> None:
    ledger.record(target, entity, pd.DataFrame({
        RECORD_KEY: keys.to_numpy(), "payload_hash": 0, "state": LedgerState.DELETED.value, "last_error": pd.NA}))


def _problems(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[RECORD_KEY, "state", "reason"])
