"""Building, hashing and planning an object's payload a key range of the hub at a time.

For objects whose mapping takes each row of its primary hub entity on its own
(`TargetObject.key_ranges`: SQUIZZ products, prices, tax codes, customer
accounts ...), the primary entity is read in key order a range at a time,
together with the rows of its nested entities (`TargetObject.range_columns`: a
product's sell units) whose parent key falls in that range. Each range is
mapped, its nested rows that reference what the target lacks are left out,
and it is hashed, checked against the target's limits and its references, and
looked up in the ledger. A record the target already confirmed with the same
hash, and that nothing holds or refuses now, is counted and dropped there:
only its key and hash are kept, for the plan's counts and its deletions. So
what a run holds grows with what changed, not with the entity, and a run with
nothing to send never holds the payload of more than one range.

The ledger itself is still read whole (`SyncLedger.load`): at a few tens of
bytes a record it is a small share of a range's payload; a key-ordered ledger
reader (`SyncLedger.iter_batches`) would let the lookups walk both in step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import key_isin, key_positions
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import RECORD_KEY, LedgerState, Payload, Reference, TargetObject
from b2b_assets.targets.core.plan import payload_hash
from b2b_assets.targets.core.references import held_reasons, hold_back_children


@dataclass
class RangedPlanInputs:
    """What sync_entity needs, gathered a key range at a time."""

    payload: Payload  # only the records a run may send or must record (not confirmed with their hash)
    present: pd.DataFrame  # record_key, payload_hash of every record in the source
    held: pd.Series  # record_key -> reason, as held_reasons gives them
    invalid: pd.Series  # record_key -> reason, as the object's limits give them
    ledger_rows: pd.DataFrame  # the object's ledger, as read for the lookups
    nested_held: int = 0  # nested rows left out for a reference the target lacks (hold_back_children)


def plan_inputs_by_key_range(store: Store, target: str, obj: TargetObject, references: tuple[Reference, ...],
                             known: dict[str, pd.Index], *, rows: int, full_refresh: bool) -> RangedPlanInputs:
    """Map, hash and check `obj` a range of `rows` primary hub records at a time, keeping only what may change.

    `references` are the object's references to other objects; nested ones leave the nested row out
    (hold_back_children), the others hold the record, as for an object planned whole.
    """
    in_child = [r for r in references if r.in_child]
    on_record = tuple(r for r in references if not r.in_child)
    ledger_rows = store.ledger.load(target, obj.name)
    confirmed = ledger_rows[ledger_rows["state"] == LedgerState.SENT.value]
    confirmed_hashes = confirmed["payload_hash"].to_numpy(dtype="int64", na_value=0)
    kept: list[pd.DataFrame] = []
    kept_children: list[pd.DataFrame] = []
    present: list[pd.DataFrame] = []
    held: list[pd.Series] = []
    invalid: list[pd.Series] = []
    nested_held = 0
    template: Payload | None = None
    for frames in key_range_frames(store, obj, rows):
        payload = obj.to_payload(frames)
        payload.records = records = payload.records.reset_index(drop=True)
        nested_held += hold_back_children(payload, in_child, known)
        hashes = payload_hash(records, payload.children).to_numpy()
        range_held = held_reasons(records, None, on_record, known)
        range_invalid = obj.limits(payload) if obj.limits is not None else pd.Series([], dtype="string")
        keys = records[RECORD_KEY]
        at = key_positions(keys, confirmed[RECORD_KEY])
        settled = (at >= 0) & (confirmed_hashes[np.maximum(at, 0)] == hashes) if len(confirmed) else (
            np.zeros(len(records), dtype=bool))
        settled &= ~key_isin(keys, range_held.index) & ~key_isin(keys, range_invalid.index)
        if full_refresh:
            settled[:] = False
        kept.append(records[~settled])
        if payload.children is not None:
            kept_children.append(payload.children_of(kept[-1]))
        present.append(pd.DataFrame({RECORD_KEY: keys.to_numpy(), "payload_hash": hashes}))
        held.append(range_held)
        invalid.append(range_invalid)
        template = payload
    if template is None:  # nothing in the hub: map the empty entities once, for the payload's shape
        template = obj.to_payload({name: store.hub.empty(name) for name in obj.source_entities})
        kept = [template.records]
        kept_children = [template.children] if template.children is not None else []
        present = [pd.DataFrame({RECORD_KEY: template.records[RECORD_KEY],
                                 "payload_hash": pd.Series([], dtype="int64")})]
    children = pd.concat(kept_children, ignore_index=True) if template.children is not None else None
    return RangedPlanInputs(
        payload=dataclasses.replace(template, records=pd.concat(kept, ignore_index=True), children=children),
        present=pd.concat(present, ignore_index=True),
        held=_joined(held), invalid=_joined(invalid), ledger_rows=ledger_rows, nested_held=nested_held)


def key_range_frames(store: Store, obj: TargetObject, rows: int) -> Iterator[Mapping[str, pd.DataFrame]]:
    """The object's source frames a key range of its primary entity at a time, in key order.

    Each range holds up to `rows` primary records (those in the latest export) and, for each nested
    entity in `obj.range_columns`, its rows whose parent column falls in that range: after the last
    key of the range before and up to this range's last key, so that the ranges cut the nested
    entity between parents, never through one.
    """
    primary, *nested = obj.source_entities
    parents = dict(obj.range_columns)
    if set(nested) != set(parents):
        raise ValueError(f"{obj.name}: a key-ranged object's other source entities {nested} must each name "
                         f"the column holding the primary key (range_columns: {sorted(parents)})")
    key = entity(primary).key
    if parents and len(key) != 1:
        raise ValueError(f"{obj.name}: nested rows are ranged by their parent's one key column; {primary} has {key}")
    above = None
    for frame in store.hub.iter_batches(primary, batch_rows=rows, in_source=True):
        upto = frame[key[0]].iloc[-1] if parents else None
        yield {primary: frame} | {name: store.hub.read_key_range(name, column, above=above, upto=upto,
                                                                 in_source=True)
                                  for name, column in parents.items()}
        above = upto


def _joined(parts: list[pd.Series]) -> pd.Series:
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts).astype("string") if parts else pd.Series([], dtype="string")
