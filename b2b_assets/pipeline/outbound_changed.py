"""Planning only the rows of a key-ranged object that changed since its last complete sync.

A full ranged plan (pipeline/outbound_ranges.py) maps and hashes every hub row to find the 1 % that
changed. Every hub row carries the entity's version of the write that last touched it (`_version`,
store/versions.py), and the object's mark (pipeline/outbound_marks.py) the versions its last
complete sync planned from. So a row at or below the mark's version, whose nested rows are too, maps
to the record it mapped to then; if the ledger holds that record as `sent` with a hash, the target
has exactly it, and its (record_key, payload_hash) is the ledger's. Only the other rows are mapped,
hashed and checked, as the full plan would:

- rows written since the mark (or with no version: written before rows had one), and rows with a
  nested row written since the mark (a sell unit changed, added, or gone from the export);
- rows whose record the ledger does not hold as sent: held, rejected, deleted, or never recorded.

Which record a row maps to is known without mapping it only when the object's record key is the
row's key joined with KEY_SEPARATOR (SQUIZZ's key fields are its hub keys). A row is matched to the
ledger by that joined key, and every record the planned rows map to must carry the joined key of one
of them: one that does not (a decimal key part, a record key from a non-key column) falls back to the
full plan. A planned row may map to no record (a product not active): the full plan leaves it out
too. Records the target holds that no row now maps to (a row gone from the export, a product made
inactive) stay out of `present`, so the planner counts them gone exactly as the full plan does.
Left to the rule: an unchanged row whose record key is not its joined key, while that joined key is
the record another row sent.

It falls back to the full plan, and says why in the log, whenever the mark cannot vouch: no mark,
another fingerprint or other references' inputs, a hub version missing, nested rows held back at
the mark (their count is not in the ledger), or deletions enabled (a deletion is only sent from a
full plan).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import TEXT_DTYPE, key_isin
from b2b_assets.pipeline.key_lookup import KeyLookup
from b2b_assets.pipeline.outbound_marks import fingerprint
from b2b_assets.pipeline.outbound_ranges import RangedPlanInputs, plan_inputs_by_key_range
from b2b_assets.store import Store
from b2b_assets.store.marks import Mark
from b2b_assets.store.tables import VERSION
from b2b_assets.targets.core.contract import KEY_SEPARATOR, RECORD_KEY, LedgerState, Reference, Target, TargetObject

log = logging.getLogger(__name__)


def changed_since(mark: Mark | None, target: Target, obj: TargetObject, inputs: dict[str, Any], *,
                  deletions_enabled: bool) -> dict[str, int] | None:
    """The hub version of each of the object's entities its mark planned from, or None (and why, logged)
    when the mark cannot tell which rows are unchanged since."""
    hub = mark.inputs.get("hub", {}) if mark is not None else {}
    why = ("no mark of a complete sync" if mark is None
           else "the payload's code, settings or identity changed" if mark.fingerprint != fingerprint(target, obj)
           else "what it references changed" if mark.inputs.get("references") != inputs.get("references")
           else "its mark lacks a hub version" if not all(isinstance(hub.get(e), int) for e in obj.source_entities)
           else "nested rows were held back" if mark.counts.get("nested_held", 1)
           else "deletions are enabled" if deletions_enabled
           else None)
    if why is not None:
        log.info("%s/%s: planning every row: %s", target.name, obj.name, why)
        return None
    return {name: hub[name] for name in obj.source_entities}


def plan_changed_rows(store: Store, target: Target, obj: TargetObject, references: tuple[Reference, ...],
                      known: dict[str, pd.Index], since: dict[str, int], *, rows: int) -> RangedPlanInputs | None:
    """`plan_inputs_by_key_range`'s inputs, mapping only the rows changed since `since` (see the module
    docstring); None (logged) when a planned row shows the record key is not the row's key."""
    ledger_rows = store.ledger.load(target.name, obj.name)
    sent = ledger_rows[(ledger_rows["state"] == LedgerState.SENT.value) & ledger_rows["payload_hash"].notna()]
    selection = _Selection(obj, since, sent)
    ranged = plan_inputs_by_key_range(store, target.name, obj, references, known, rows=rows, full_refresh=False,
                                      frames=selection.frames(store, rows), ledger_rows=ledger_rows)
    planned = pd.concat(selection.planned, ignore_index=True) if selection.planned else pd.Series([], dtype=TEXT_DTYPE)
    made = ranged.present[RECORD_KEY]
    if selection.read != len(planned):  # a key part the lookup by key cannot find (a missing optional part)
        log.info("%s/%s: planning every row: %d of its %d changed rows could not be read by key",
                 target.name, obj.name, len(planned) - selection.read, len(planned))
        return None
    if not key_isin(made, planned).all():
        log.info("%s/%s: planning every row: its record keys are not its hub rows' keys", target.name, obj.name)
        return None
    unchanged = pd.concat(selection.unchanged, ignore_index=True) if selection.unchanged else None
    if unchanged is not None:
        ranged.present = pd.concat([ranged.present, unchanged], ignore_index=True)
    log.info("%s/%s: planned the %d rows changed since its last sync; %d unchanged taken from the ledger",
             target.name, obj.name, len(planned), 0 if unchanged is None else len(unchanged))
    return ranged


class _Selection:
    """Which primary rows to map, read by key from the hub: the joined keys of those, and the ledger's
    (record_key, payload_hash) of the others. Only the key columns and versions of the whole entity are
    read; rows, and their nested rows, only for what is planned."""

    def __init__(self, obj: TargetObject, since: dict[str, int], sent: pd.DataFrame) -> None:
        self._obj, self._since = obj, since
        self._sent_keys = KeyLookup(sent[RECORD_KEY])
        self._sent = sent[[RECORD_KEY, "payload_hash"]].reset_index(drop=True)
        self.planned: list[pd.Series] = []  # joined keys of the rows mapped
        self.unchanged: list[pd.DataFrame] = []  # record_key, payload_hash of the rows left to the ledger
        self.read = 0  # planned rows read back from the hub by key

    def frames(self, store: Store, rows: int) -> Iterator[Mapping[str, pd.DataFrame]]:
        """The planned rows, up to `rows` primary rows a frame with their nested rows (in the export)."""
        primary = self._obj.source_entities[0]
        key = entity(primary).key
        parents = dict(self._obj.range_columns)
        # Parents of nested rows written since: a sell unit changed, added or gone from the export.
        firsts: list[pd.Series] = []
        touched = [store.hub.changed_since(name, self._since[name], [column])[column]
                   for name, column in parents.items()]
        for versions in store.hub.iter_versions(primary, batch_rows=rows, in_source=True):
            keys = joined_key(versions, key)
            plan = _changed(versions, self._since[primary])
            for parent_keys in touched:
                plan |= key_isin(keys, parent_keys)
            at = self._sent_keys.positions(keys)
            plan |= at < 0
            self.planned.append(keys[plan].reset_index(drop=True))
            firsts.append(versions[key[0]][plan].reset_index(drop=True))
            self.unchanged.append(self._sent.iloc[at[~plan]].reset_index(drop=True))
        planned, first = (pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=TEXT_DTYPE)
                          for parts in (self.planned, firsts))
        for start in range(0, len(planned), rows):
            # Read by the key's first column, then cut to the planned keys (a price's product holds a few).
            main = store.hub.read_matching(primary, key[0], first.iloc[start:start + rows], in_source=True)
            main = main[key_isin(joined_key(main, key), planned.iloc[start:start + rows])].reset_index(drop=True)
            self.read += len(main)
            yield {primary: main} | {name: store.hub.read_matching(name, column, main[key[0]], in_source=True)
                                     for name, column in parents.items()}


def _changed(frame: pd.DataFrame, since: int) -> np.ndarray:
    version = frame[VERSION]
    return (version.isna() | (version > since)).to_numpy(dtype=bool, na_value=True)


def joined_key(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    """The rows' key columns as text joined with KEY_SEPARATOR (a missing optional part as '')."""
    parts = [frame[c].astype(TEXT_DTYPE).fillna("") for c in key]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + KEY_SEPARATOR + part
    return joined.reset_index(drop=True)
