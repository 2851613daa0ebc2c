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

A full plan still reads the ledger whole (`SyncLedger.load`): at a few tens of
bytes a record it is a small share of a range's payload; a key-ordered ledger
reader (`SyncLedger.iter_batches`) would let the lookups walk both in step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import key_isin
from b2b_assets.store import Store
from b2b_assets.store.key_index import KeySet
from b2b_assets.targets.core.contract import RECORD_KEY, LedgerState, Payload, Reference, TargetObject
from b2b_assets.targets.core.payload_parts import PayloadParts
from b2b_assets.targets.core.plan import UNCHANGED, payload_hash
from b2b_assets.targets.core.references import held_reasons, hold_back_children


@dataclass
class RangedPlanInputs:
    """What sync_entity needs, gathered a key range at a time."""

    payload: PayloadParts  # only the records a run may send or must record (not confirmed with their hash)
    present: pd.DataFrame  # record_key, payload_hash of every record in the source (but `unplanned` ones)
    held: pd.Series  # record_key -> reason, as held_reasons gives them
    invalid: pd.Series  # record_key -> reason, as the object's limits give them
    ledger_rows: pd.DataFrame  # the object's ledger, as read for the lookups
    nested_held: int = 0  # nested rows left out for a reference the target lacks (hold_back_children)
    # Planning only the changed rows from the ledger's index (pipeline/outbound_changed.py): `present` and
    # `ledger_rows` hold only what it planned; `unplanned` more records are unchanged, and `gone` is how many
    # records the target holds that the source no longer has (None: what the plan of `present` counts).
    unplanned: int = 0
    gone: int | None = None

    def count_unplanned(self, counts: dict[str, int]) -> None:
        """Complete the counts of a sync of `present` (`sync_entity`'s report) with the records left out of it."""
        counts[UNCHANGED] += self.unplanned
        counts["total"] += self.unplanned
        if self.gone is not None:
            counts["deletions_pending"] = self.gone


def plan_inputs_by_key_range(store: Store, target: str, obj: TargetObject, references: tuple[Reference, ...],
                             known: dict[str, pd.Index], *, rows: int, full_refresh: bool,
                             frames: Iterator[Mapping[str, pd.DataFrame]] | None = None,
                             ledger_rows: pd.DataFrame | None = None) -> RangedPlanInputs:
    """Map, hash and check `obj` a range of `rows` primary hub records at a time, keeping only what may change.

    `references` are the object's references to other objects; nested ones leave the nested row out
    (hold_back_children), the others hold the record, as for an object planned whole.
    `frames`: the ranges to map, when not every row (pipeline/outbound_changed.py); `ledger_rows`: the
    object's ledger, if read already.
    """
    if ledger_rows is None:
        ledger_rows = store.ledger.load(target, obj.name)
    confirmed = ledger_rows[ledger_rows["state"] == LedgerState.SENT.value]
    # One lookup of the confirmed keys for every range: rebuilding it per range made the plan quadratic.
    settle = partial(_settle_range, obj, references, known, KeySet(confirmed[RECORD_KEY]),
                     confirmed["payload_hash"].to_numpy(dtype="int64", na_value=0), full_refresh)
    # map(): no name holds a range's frames or payload while the next range is read, so one range is in memory;
    # what it keeps to send goes to disk (PayloadParts) until sync_entity sends it, a part at a time.
    kept = PayloadParts.spilling(rows)
    spill = partial(_spilled, kept)
    try:
        if frames is None:
            frames = key_range_frames(store, obj, _primary_rows(store, obj, rows))
        ranges = list(map(spill, map(settle, map(obj.to_payload, frames))))
        if not ranges:  # nothing in the hub: map the empty entities once, for the payload's shape
            ranges = [spill(settle(obj.to_payload({name: store.hub.empty(name) for name in obj.source_entities})))]
    except BaseException:
        kept.close()
        raise
    return RangedPlanInputs(
        payload=kept,
        present=pd.concat([r.present for r in ranges], ignore_index=True),
        held=_joined([r.held for r in ranges]), invalid=_joined([r.invalid for r in ranges]),
        ledger_rows=ledger_rows, nested_held=sum(r.nested_held for r in ranges))


def _spilled(parts: PayloadParts, settled: _SettledRange) -> _SettledRange:
    parts.append(settled.kept)
    return dataclasses.replace(settled, kept=None)


def _primary_rows(store: Store, obj: TargetObject, rows: int) -> int:
    """Primary records per range such that a range holds about `rows` rows of its nested entities too.

    A site carries the stock of every product it holds: 20 sites may nest 2M stock rows, so ranges of
    sites are cut by their stock, not by the sites' own count.
    """
    if not obj.range_columns:
        return rows
    primary = store.hub.count(obj.source_entities[0], in_source=True)
    nested = sum(store.hub.count(name, in_source=True) for name, _column in obj.range_columns)
    return max(1, rows * primary // max(1, primary, nested))


@dataclass
class _SettledRange:
    """What one range leaves behind once its settled records are dropped."""

    kept: Payload | None  # the range's payload, only the records (and their nested rows) a run may send or record
    present: pd.DataFrame  # record_key, payload_hash of every record of the range
    held: pd.Series
    invalid: pd.Series
    nested_held: int


def _settle_range(obj: TargetObject, references: tuple[Reference, ...], known: dict[str, pd.Index],
                  confirmed_keys: KeySet, confirmed_hashes: np.ndarray, full_refresh: bool,
                  payload: Payload) -> _SettledRange:
    """Hash and check one range's payload as sync_object does a whole one; drop what the target already has."""
    payload.records = records = payload.records.reset_index(drop=True)
    nested_held = hold_back_children(payload, [r for r in references if r.in_child], known)
    hashes = payload_hash(records, payload.children).to_numpy()
    held = held_reasons(records, None, tuple(r for r in references if not r.in_child), known)
    invalid = obj.limits(payload) if obj.limits is not None else pd.Series([], dtype="string")
    keys = records[RECORD_KEY]
    at = confirmed_keys.positions(keys)
    settled = at >= 0
    settled[settled] = confirmed_hashes[at[settled]] == hashes[settled]
    settled &= ~key_isin(keys, held.index) & ~key_isin(keys, invalid.index)
    if full_refresh:
        settled[:] = False
    changing = records[~settled].reset_index(drop=True)
    kept = dataclasses.replace(payload, records=changing, children=payload.children_of(changing))
    return _SettledRange(kept, pd.DataFrame({RECORD_KEY: keys.array, "payload_hash": hashes}), held, invalid,
                         nested_held)


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
