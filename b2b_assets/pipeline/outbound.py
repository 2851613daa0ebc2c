"""Pushing the hub to any target, one object at a time, through the target-independent core.

Knows targets only through the contract (`targets/core/contract.py`): the
object maps hub frames to a payload and checks its own limits; everything
else (references held back, planned keys for dry runs, the COMPLETE guard,
jobs, cost) happens here and in the core, the same for every target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from b2b_assets.model.frames import key_isin
from b2b_assets.pipeline.outbound_changed import changed_since, plan_changed_rows
from b2b_assets.pipeline.outbound_marks import current_inputs, marks_apply, record_mark, unchanged_report
from b2b_assets.pipeline.outbound_ranges import plan_inputs_by_key_range
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import RECORD_KEY, AsyncSender, LedgerState, Sender, Target, TargetObject
from b2b_assets.targets.core.plan import DeletionPolicy, payload_hash
from b2b_assets.targets.core.references import held_reasons, hold_back_children
from b2b_assets.targets.core.sync import Progress, SyncReport, sync_entity


@dataclass(frozen=True)
class OutboundOptions:
    dry_run: bool = False
    full_refresh: bool = False  # resend everything; where the target supports it, as one COMPLETE batch
    batch_size: int = 500
    deletions: DeletionPolicy = DeletionPolicy()
    poll_budget_seconds: float = 60.0  # how long one run waits for a target's open jobs before leaving them
    # Dry runs only: where each object notes the keys it would send, so that the objects after it count those
    # as present at the target (as they would be in a real run) instead of holding everything that uses them.
    dry_run_dir: Path | None = None
    plan_range_rows: int = 100_000  # hub records mapped and planned at a time, for key_ranges objects
    # Resend only the records the ledger holds as rejected or held (the retry-failed job): every other record
    # is left out of the plan, so it can be neither a full refresh nor a deletion of what it leaves out.
    only_failed: bool = False
    run_id: str = ""  # the run this sync belongs to, named by the mark it leaves (pipeline/outbound_marks.py)

    def __post_init__(self) -> None:
        if self.only_failed and (self.full_refresh or self.deletions.enabled):
            raise ValueError("only_failed resends the rejected and held records alone; it cannot be combined with "
                             "full_refresh or deletions_enabled, which act on every record")


def hub_frames(store: Store, entities: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The hub's records of each entity, less those the latest complete export no longer had."""
    return {name: store.hub.read_all(name, in_source=True) for name in entities}


def sync_object(store: Store, target: Target, obj: TargetObject, sender: Sender | None,
                options: OutboundOptions = OutboundOptions(), on_progress: Progress | None = None) -> SyncReport:
    """Map, plan and send one object; the report's counts carry the cost in the target's unit.

    An object whose inputs did not move since its last complete sync is not planned again: its report
    counts every record unchanged and says so (`SyncReport.skipped`, pipeline/outbound_marks.py)."""
    marking = marks_apply(options.dry_run, options.only_failed)
    if marking:
        inputs = current_inputs(store, target, obj)
        mark = store.marks.get(target.name, obj.name)  # read before it is forgotten: it may spare the plan
        skipped = unchanged_report(store, target, obj, inputs, mark, full_refresh=options.full_refresh,
                                   deletions_enabled=options.deletions.enabled)
        if skipped is not None:
            return skipped
        store.marks.forget(target.name, obj.name)  # until this sync completes, nothing vouches for the ledger
    # Self-references (a sell unit's parent) resolve within the same batch, so only other objects can hold.
    foreign = tuple(r for r in obj.references if r.object != obj.name)
    known = {r.object: pd.Index(store.ledger.keys_in_state(target.name, r.object, LedgerState.SENT.value))
                       .union(_planned_keys(options, target, r.object)) for r in foreign}
    common = dict(target=target.name, obj=obj, ledger=store.ledger, sender=sender, batch_size=options.batch_size,
                  dry_run=options.dry_run, full_refresh=options.full_refresh, deletions=options.deletions,
                  poll_budget_seconds=options.poll_budget_seconds, on_progress=on_progress)
    nested_held = 0
    # A retry plans its few failed records from the whole payload, filtered; key ranges serve full plans.
    if obj.key_ranges and not isinstance(sender, AsyncSender) and not options.only_failed:
        # Only the rows changed since the last complete sync, when its mark vouches for the rest.
        since = (changed_since(store, mark, target, obj, inputs, deletions_enabled=options.deletions.enabled)
                 if marking and not options.full_refresh else None)
        ranged = None if since is None else plan_changed_rows(store, target, obj, foreign, known, since,
                                                              rows=options.plan_range_rows)
        if ranged is None:
            ranged = plan_inputs_by_key_range(store, target.name, obj, foreign, known, rows=options.plan_range_rows,
                                              full_refresh=options.full_refresh)
        with ranged.payload:  # its spilled parts are removed once sent
            report = sync_entity(payload=ranged.payload, hashes=ranged.present, held=ranged.held,
                                 invalid=ranged.invalid, ledger_rows=ranged.ledger_rows, **common)
        nested_held = ranged.nested_held
        ranged.count_unplanned(report.counts)
    else:
        payload = obj.to_payload(hub_frames(store, obj.source_entities))
        payload.records = payload.records.reset_index(drop=True)
        if options.only_failed:
            payload.records = only_failed(payload.records, store, target, obj)
        records = payload.records
        nested_held = hold_back_children(payload, [r for r in foreign if r.in_child], known)
        hashes = payload_hash(records, payload.children)
        held = held_reasons(records, None, tuple(r for r in foreign if not r.in_child), known)
        invalid = obj.limits(payload) if obj.limits is not None else None
        report = sync_entity(payload=payload, hashes=hashes, held=held, invalid=invalid, **common)
    counts = report.counts
    counts["nested_held"] = nested_held
    if options.dry_run:
        counts["cost"] = target.cost(obj, counts["would_send"])
        if options.dry_run_dir is not None:
            options.dry_run_dir.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({RECORD_KEY: report.would_send}).to_parquet(
                planned_keys_path(options.dry_run_dir, target, obj.name))
    else:
        counts["cost"] = target.cost(obj, counts["charged"])
    if options.only_failed:
        counts["deletions_pending"] = 0  # the records left out of a retry are not gone from the source
    if marking:
        record_mark(store, target, obj, inputs, report, options.run_id)
    return report


def only_failed(records: pd.DataFrame, store: Store, target: Target, obj: TargetObject) -> pd.DataFrame:
    """The records whose ledger state is rejected or held: what a retry of the failed records sends."""
    failed = pd.Index(store.ledger.keys_in_state(target.name, obj.name, LedgerState.REJECTED.value)).union(
        pd.Index(store.ledger.keys_in_state(target.name, obj.name, LedgerState.HELD.value)))
    return records[key_isin(records[RECORD_KEY], failed)].reset_index(drop=True)


def planned_keys_path(dry_run_dir: Path, target: Target, name: str) -> Path:
    """Where a dry run lists the record keys it would send of one object."""
    return dry_run_dir / f"{target.name}__{name}.parquet"


def _planned_keys(options: OutboundOptions, target: Target, name: str) -> pd.Index:
    path = planned_keys_path(options.dry_run_dir, target, name) if options.dry_run and options.dry_run_dir else None
    if path is None or not path.exists():
        return pd.Index([], dtype="string")
    return pd.Index(pd.read_parquet(path)[RECORD_KEY].astype("string"))
