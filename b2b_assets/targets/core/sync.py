"""Sync one target object: settle open jobs, plan, send the changes in batches, record what the target confirmed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from b2b_assets.model.frames import TEXT_DTYPE, key_isin, key_positions
from b2b_assets.targets.core.contract import (
    RECORD_KEY, AsyncSender, Batch, LedgerState, Payload, PreparingSender, RecordsRejected, Sender, TargetObject,
)
from b2b_assets.targets.core.jobs import settle_open_jobs
from b2b_assets.targets.core.plan import HELD, INVALID, PENDING, TO_SEND, UNCHANGED, DeletionPolicy, Plan, plan
from b2b_assets.targets.core.send import outcomes_frame, send_pipelined

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


def sync_entity(*, target: str, obj: TargetObject, payload: Payload, hashes: pd.Series | pd.DataFrame, ledger,
                sender: Sender | None, batch_size: int = 500, held: pd.Series | None = None,
                invalid: pd.Series | None = None, dry_run: bool = False, full_refresh: bool = False,
                deletions: DeletionPolicy = DeletionPolicy(), poll_budget_seconds: float = 60.0,
                on_progress: Progress | None = None, ledger_rows: pd.DataFrame | None = None) -> SyncReport:
    """Plan `payload.records` against the ledger and send what changed.

    hashes: one per row of `payload.records`; or, when the caller planned in key ranges and kept
    only the records a run may send or must record, a frame (record_key, payload_hash) of every
    record in the source. ledger_rows: the object's ledger rows, if the caller has read them
    already (synchronous senders only: settling open jobs would change them).
    The ledger is written after every batch the target confirmed (or every job
    it accepted), so a run that dies half-way keeps what was acknowledged and
    resends only the rest next time.
    """
    entity, records = obj.name, payload.records
    deadline = time.monotonic() + poll_budget_seconds
    asynchronous = isinstance(sender, AsyncSender)
    # charged: what the target bills for, the records it accepted (synchronous) or took into a job (asynchronous).
    running = {"sent": 0, "rejected": 0, "submitted": 0, "deleted": 0, "charged": 0}
    problems: list[pd.DataFrame] = []
    if asynchronous and not dry_run:
        _absorb(settle_open_jobs(target, entity, ledger, sender, deadline), running, problems)

    complete = full_refresh and obj.mode.full_refresh
    if complete and asynchronous:
        raise ValueError(f"{target}/{entity}: a COMPLETE batch needs a synchronous sender: the core must know it "
                         "landed before it records what the target deactivated")
    if ledger_rows is not None and asynchronous:
        raise ValueError(f"{target}/{entity}: ledger rows read before the open jobs settled would be stale")
    present = hashes if isinstance(hashes, pd.DataFrame) else pd.DataFrame(
        {RECORD_KEY: records[RECORD_KEY].to_numpy(), "payload_hash": hashes.to_numpy()})
    the_plan: Plan = plan(target, entity, present, ledger.load(target, entity) if ledger_rows is None else ledger_rows,
                          held_reasons=held, invalid_reasons=invalid, full_refresh=full_refresh, complete=complete,
                          deletions=deletions, enforce=not dry_run)
    counts = the_plan.counts()
    counts["total"] = int(len(present))
    parked = the_plan.records[the_plan.records["action"].isin((HELD, INVALID))]
    problems.insert(0, parked[[RECORD_KEY, "action", "reason"]].rename(columns={"action": "state"}))
    planned = the_plan.records[the_plan.records["action"].isin(TO_SEND).to_numpy()]
    sending = key_isin(records[RECORD_KEY], planned[RECORD_KEY])
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

    # One contiguous frame of what is sent, so that every batch (and every half of a bisected one) is a slice.
    to_send = records[sending].reset_index(drop=True)
    keys = to_send[RECORD_KEY].astype(TEXT_DTYPE).array  # Arrow text: batches of it are slices, not objects
    planned_hashes = planned["payload_hash"].to_numpy(dtype="int64")
    send_hashes = planned_hashes[key_positions(to_send[RECORD_KEY], planned[RECORD_KEY])]
    size = max(1, len(to_send)) if complete or obj.mode.one_batch else max(1, batch_size)
    batches = [range(start, min(start + size, len(to_send))) for start in range(0, len(to_send), size)]

    def report() -> None:
        if on_progress:
            on_progress({**running, "to_send": len(to_send)})

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
        for positions in batches:
            part = slice(positions.start, positions.stop)
            job_id = sender.submit(Batch(obj, payload, to_send.iloc[part]))
            ledger.record(target, entity, pd.DataFrame({
                RECORD_KEY: keys[part], "payload_hash": send_hashes[part],
                "state": LedgerState.SUBMITTED.value, "last_error": pd.NA, "job_id": job_id}))
            running["submitted"] += len(positions)
            running["charged"] += len(positions)
            report()
    else:
        prepare, deliver = _pipeline(sender, obj, payload, to_send, complete)
        send_pipelined(batches, prepare, deliver, confirmed)

    if complete and len(to_send) and len(the_plan.deactivations):
        # The COMPLETE batch landed: the target has deactivated every confirmed record it lacked.
        _record_deleted(ledger, target, entity, the_plan.deactivations)
        running["deleted"] += len(the_plan.deactivations)
        report()
    delete = getattr(sender, "delete", None)
    if obj.mode.deletes and delete is not None and len(the_plan.deletions) and not the_plan.deletions_blocked:
        gone = pd.DataFrame({RECORD_KEY: the_plan.deletions})
        for start in range(0, len(gone), max(1, batch_size)):
            batch = gone.iloc[start:start + batch_size]
            delete(Batch(obj, payload, batch))
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
    return SyncReport(target, entity, counts, False, _problems(problems))


def _pipeline(sender, obj: TargetObject, payload: Payload, to_send: pd.DataFrame, complete: bool):
    """(prepare, deliver) for send_pipelined: the sender's own halves where it has them, else its send."""
    def batch(positions: range) -> Batch:
        return Batch(obj, payload, to_send.iloc[positions.start:positions.stop], complete=complete)

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
