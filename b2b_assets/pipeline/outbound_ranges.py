"""Building, hashing and planning an object's payload a key range of the hub at a time.

For objects whose mapping takes each row of one hub entity on its own
(`TargetObject.key_ranges`: SQUIZZ prices, tax codes, customer accounts ...),
the hub is read in key order a range at a time; each range is mapped, hashed,
checked against the target's limits and its references, and looked up in the
ledger. A record the target already confirmed with the same hash, and that
nothing holds or refuses now, is counted and dropped there: only its key and
hash are kept, for the plan's counts and its deletions. So what a run holds
grows with what changed, not with the entity, and a run with nothing to send
never holds the payload of more than one range.

The ledger itself is still read whole (`SyncLedger.load`); a key-ordered
ledger reader would let the lookups walk both in step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b2b_assets.model.frames import key_isin, key_positions
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import RECORD_KEY, LedgerState, Payload, Reference, TargetObject
from b2b_assets.targets.core.plan import payload_hash
from b2b_assets.targets.core.references import held_reasons


@dataclass
class RangedPlanInputs:
    """What sync_entity needs, gathered a key range at a time."""

    payload: Payload  # only the records a run may send or must record (not confirmed with their hash)
    present: pd.DataFrame  # record_key, payload_hash of every record in the source
    held: pd.Series  # record_key -> reason, as held_reasons gives them
    invalid: pd.Series  # record_key -> reason, as the object's limits give them
    ledger_rows: pd.DataFrame  # the object's ledger, as read for the lookups


def plan_inputs_by_key_range(store: Store, target: str, obj: TargetObject, references: tuple[Reference, ...],
                             known: dict[str, pd.Index], *, rows: int, full_refresh: bool) -> RangedPlanInputs:
    """Map, hash and check `obj` a range of `rows` hub records at a time, keeping only what may change."""
    (entity,) = obj.source_entities
    ledger_rows = store.ledger.load(target, obj.name)
    confirmed = ledger_rows[ledger_rows["state"] == LedgerState.SENT.value]
    confirmed_hashes = confirmed["payload_hash"].to_numpy(dtype="int64", na_value=0)
    kept: list[pd.DataFrame] = []
    present: list[pd.DataFrame] = []
    held: list[pd.Series] = []
    invalid: list[pd.Series] = []
    template: Payload | None = None
    for frame in store.hub.read(entity, batch_size=rows, in_source=True):
        payload = obj.to_payload({entity: frame})
        if payload.children is not None:
            raise ValueError(f"{target}/{obj.name}: key_ranges objects have no nested rows")
        records = payload.records.reset_index(drop=True)
        hashes = payload_hash(records).to_numpy()
        range_held = held_reasons(records, None, references, known)
        range_invalid = obj.limits(payload) if obj.limits is not None else pd.Series([], dtype="string")
        keys = records[RECORD_KEY]
        at = key_positions(keys, confirmed[RECORD_KEY])
        settled = (at >= 0) & (confirmed_hashes[np.maximum(at, 0)] == hashes) if len(confirmed) else (
            np.zeros(len(records), dtype=bool))
        settled &= ~key_isin(keys, range_held.index) & ~key_isin(keys, range_invalid.index)
        if full_refresh:
            settled[:] = False
        kept.append(records[~settled])
        present.append(pd.DataFrame({RECORD_KEY: keys.to_numpy(), "payload_hash": hashes}))
        held.append(range_held)
        invalid.append(range_invalid)
        template = payload
    if template is None:  # nothing in the hub: map the empty entity once, for the payload's shape
        template = obj.to_payload({entity: store.hub.read_all(entity, in_source=True)})
        kept, present = [template.records], [pd.DataFrame({RECORD_KEY: template.records[RECORD_KEY],
                                                           "payload_hash": pd.Series([], dtype="int64")})]
    return RangedPlanInputs(
        payload=dataclasses.replace(template, records=pd.concat(kept, ignore_index=True)),
        present=pd.concat(present, ignore_index=True),
        held=_joined(held), invalid=_joined(invalid), ledger_rows=ledger_rows)


def _joined(parts: list[pd.Series]) -> pd.Series:
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts).astype("string") if parts else pd.Series([], dtype="string")
