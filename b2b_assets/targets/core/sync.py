"""Sync one target entity: plan, send the changes in batches, record what the target confirmed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from b2b_assets.targets.core.plan import HELD, INVALID, TO_SEND, UNCHANGED, DeletionPolicy, LedgerState, Plan, plan
from b2b_assets.targets.core.send import outcomes_frame, send_isolating_rejects

SendRecords = Callable[[pd.DataFrame], None]
"""Sends these payload rows (a slice of the payload's records frame) as one document; raises RecordsRejected."""


@dataclass
class SyncReport:
    target: str
    entity: str
    counts: dict[str, int]
    dry_run: bool
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)  # record_key, state, reason (rejected, held, invalid)
    would_send: pd.Series = field(default_factory=lambda: pd.Series([], dtype="string"))  # dry run: keys it would send

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
            "records_deleted": c["deleted"],
        }


def sync_entity(*, target: str, entity: str, records: pd.DataFrame, hashes: pd.Series, ledger,
                send: SendRecords, delete: SendRecords | None = None, batch_size: int = 500,
                held: pd.Series | None = None, invalid: pd.Series | None = None,
                dry_run: bool = False, full_refresh: bool = False,
                deletions: DeletionPolicy = DeletionPolicy(), on_batch: Callable[[int, int], None] | None = None,
                ) -> SyncReport:
    """Plan `records` (payload rows with a record_key column) against `ledger` and send what changed.

    The ledger is written after every batch the target confirmed, so a run
    that dies half-way keeps the batches already acknowledged and resends only
    the rest next time.
    """
    the_plan: Plan = plan(target, entity, pd.DataFrame({"record_key": records["record_key"].to_numpy(),
                                                        "payload_hash": hashes.to_numpy()}),
                          ledger.load(target, entity), held_reasons=held, invalid_reasons=invalid,
                          full_refresh=full_refresh, deletions=deletions)
    counts = the_plan.counts()
    counts["total"] = int(len(records))
    problems = the_plan.records.loc[the_plan.records["action"].isin((HELD, INVALID)), ["record_key", "action", "reason"]]
    if dry_run:
        counts.update(sent=0, rejected=0, would_send=counts["new"] + counts["changed"])
        return SyncReport(target, entity, counts, True, problems.rename(columns={"action": "state"}),
                          the_plan.keys(*TO_SEND).astype("string").reset_index(drop=True))

    # Held and locally invalid records are recorded too: every record ends the run in one named state.
    parked = the_plan.records[the_plan.records["action"].isin((HELD, INVALID))]
    if not parked.empty:
        ledger.record(target, entity, pd.DataFrame({
            "record_key": parked["record_key"],
            "payload_hash": parked["payload_hash"].astype("int64"),
            "state": parked["action"].map({HELD: LedgerState.HELD.value, INVALID: LedgerState.REJECTED.value}),
            "last_error": parked["reason"],
        }))

    sending = the_plan.records["action"].isin(TO_SEND).to_numpy()
    to_send = records[sending]
    keys = to_send["record_key"].to_numpy()
    send_hashes = hashes.to_numpy()[sending]
    sent = rejected = 0
    rejects: list[pd.DataFrame] = []
    for start in range(0, len(to_send), batch_size):
        positions = list(range(start, min(start + batch_size, len(to_send))))
        outcomes = send_isolating_rejects(positions, lambda p: send(to_send.iloc[list(p)]))
        frame = outcomes_frame(outcomes, keys, send_hashes)
        ledger.record(target, entity, frame)
        sent += int((frame["state"] == LedgerState.SENT.value).sum())
        bad = frame[frame["state"] == LedgerState.REJECTED.value]
        rejected += len(bad)
        rejects.append(bad.rename(columns={"last_error": "reason"})[["record_key", "state", "reason"]])
        if on_batch:
            on_batch(positions[-1] + 1, len(to_send))

    deleted = 0
    if delete is not None and len(the_plan.deletions) and not the_plan.deletions_blocked:
        gone = pd.DataFrame({"record_key": the_plan.deletions})
        for start in range(0, len(gone), batch_size):
            batch = gone.iloc[start:start + batch_size]
            delete(batch)
            ledger.record(target, entity, pd.DataFrame({
                "record_key": batch["record_key"], "payload_hash": pd.Series(0, index=batch.index, dtype="int64"),
                "state": LedgerState.DELETED.value, "last_error": pd.NA}))
            deleted += len(batch)
    counts.update(sent=sent, rejected=rejected + counts[INVALID], deleted=deleted)
    problems = pd.concat([problems.rename(columns={"action": "state"}), *rejects], ignore_index=True)
    return SyncReport(target, entity, counts, False, problems)
