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

When the object's ledger is as that sync left it (no write since) and its mark names the records
that sync counted gone from the source (up to outbound_marks.GONE_KEYS_KEPT of them), what the plan reads grows
with what changed, not with the entity: the rows written since the mark and the parents of nested
rows written since, through the hub's index on `_version`; the ledger's records not held as sent,
through its index of them; the records gone at the mark; and the ledger rows of those keys. The
other records are counted, not read: at the mark every record the source mapped to had a ledger row,
and every confirmed record was one of them or gone, so the confirmed records (one count over the
ledger's key index) less those among the keys read now are exactly the unchanged ones, and those
among the keys read that no planned record is now are the records gone from the source. Otherwise
(a retry or a purge wrote the ledger, too many records were gone at the mark) the key columns and
versions of the whole entity and the whole ledger are read to tell them apart, as before.

It falls back to the full plan, and says why in the log, when more than a fifth of the rows are to
be planned (reading them by key would cost more; an upgraded store's rows all count as changed
once), and whenever the mark cannot vouch: no mark, another fingerprint or other references'
inputs, a hub version missing, nested rows held back at the mark (their count is not in the
ledger), an entity the object reads whole (`whole_entities`, a lookup) changed, or deletions
enabled (a deletion is only sent from a full plan).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import Kind, entity
from b2b_assets.model.frames import TEXT_DTYPE, key_isin
from b2b_assets.pipeline.outbound_marks import fingerprint
from b2b_assets.pipeline.outbound_ranges import RangedPlanInputs, plan_inputs_by_key_range, whole_frames
from b2b_assets.store import Store
from b2b_assets.store.key_index import KeySet
from b2b_assets.store.marks import Mark
from b2b_assets.store.tables import VERSION
from b2b_assets.targets.core.contract import KEY_SEPARATOR, RECORD_KEY, LedgerState, Reference, Target, TargetObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Since:
    """What an object's mark vouches for (`changed_since`)."""

    hub: dict[str, int]  # the hub version of each of the object's entities that its last complete sync planned from
    records: int  # how many records that sync planned
    ledger_as_left: bool  # its ledger is as that sync left it, and the mark names the records gone from the source
    gone: pd.Series  # those records' keys (when ledger_as_left)


def changed_since(store: Store, mark: Mark | None, target: Target, obj: TargetObject, inputs: dict[str, Any], *,
                  deletions_enabled: bool) -> Since | None:
    """What the object's mark vouches for, or None (and why, logged) when it cannot tell which rows are
    unchanged since."""
    hub = mark.inputs.get("hub", {}) if mark is not None else {}
    why = ("no mark of a complete sync" if mark is None
           else "the payload's code, settings or identity changed" if mark.fingerprint != fingerprint(target, obj)
           else "what it references changed" if mark.inputs.get("references") != inputs.get("references")
           else "what it references has no ledger counters" if None in inputs["references"].values()
           else "its mark lacks a hub version" if not all(isinstance(hub.get(e), int) for e in obj.source_entities)
           else "nested rows were held back" if mark.counts.get("nested_held", 1)
           else "an entity it reads whole changed" if any(inputs["hub"].get(e) != hub.get(e)
                                                          for e in obj.whole_entities)
           else "deletions are enabled" if deletions_enabled
           else None)
    if why is not None:
        log.info("%s/%s: planning every row: %s", target.name, obj.name, why)
        return None
    own = store.ledger.versions.of(target.name, [obj.name])[obj.name]
    gone = mark.ledger.get("gone")
    as_left = own is not None and own["version"] == mark.ledger.get("version") and gone is not None
    return Since({name: hub[name] for name in obj.source_entities}, int(mark.counts.get("total", 0)), as_left,
                 pd.Series(gone or [], dtype=TEXT_DTYPE))


# Above this share of the entity changed, reading the planned rows by key costs more than the full ranged plan.
MOST_ROWS = 0.2


def plan_changed_rows(store: Store, target: Target, obj: TargetObject, references: tuple[Reference, ...],
                      known: dict[str, pd.Index], since: Since, *, rows: int) -> RangedPlanInputs | None:
    """`plan_inputs_by_key_range`'s inputs, mapping only the rows changed since `since` (see the module
    docstring); None (logged) when most rows changed, or a planned row shows the record key is not its key."""
    if since.ledger_as_left and _text_key(obj.source_entities[0]):
        return _plan_from_indexes(store, target, obj, references, known, since, rows=rows)
    name = f"{target.name}/{obj.name}"
    log.info("%s: its ledger was written since its last sync, its mark does not name the records gone then, "
             "or its key is not text: reading every key", name)
    ledger_rows = store.ledger.load(target.name, obj.name)
    sent = ledger_rows[(ledger_rows["state"] == LedgerState.SENT.value) & ledger_rows["payload_hash"].notna()]
    selection = _Selection(store, obj, since.hub, sent, rows)
    planned, unchanged = selection.planned, selection.unchanged
    if _most_rows(name, len(planned), len(planned) + len(unchanged)):
        return None
    ranged = plan_inputs_by_key_range(store, target.name, obj, references, known, rows=rows, full_refresh=False,
                                      frames=selection.frames(), ledger_rows=ledger_rows)
    if selection.read != len(planned):  # a key part the lookup by key cannot find (a missing optional part)
        log.info("%s: planning every row: %d of its %d changed rows could not be read by key",
                 name, len(planned) - selection.read, len(planned))
        ranged.payload.close()  # its spilled parts
        return None
    if not _keys_are_rows(name, ranged, planned):
        return None
    ranged.present = pd.concat([ranged.present, unchanged], ignore_index=True)
    _planned(name, len(planned), len(unchanged))
    return ranged


def _plan_from_indexes(store: Store, target: Target, obj: TargetObject, references: tuple[Reference, ...],
                       known: dict[str, pd.Index], since: Since, *, rows: int) -> RangedPlanInputs | None:
    """The plan of the rows changed since a mark whose ledger is as it left it: only the changed rows, the
    ledger's records not held as sent, and the ledger rows of their keys are read (see the module docstring)."""
    name = f"{target.name}/{obj.name}"
    primary = obj.source_entities[0]
    key = entity(primary).key
    unsettled = store.ledger.unsettled(target.name, obj.name)
    # Rows written since (present or not: a row gone from the export had a record at the mark).
    changed = joined_key(store.hub.changed_since(primary, since.hub[primary], list(key)), key)
    touched = [store.hub.changed_since(nested, since.hub[nested], [column])[column].astype(TEXT_DTYPE)
               for nested, column in obj.range_columns]
    # With the records gone at the mark: they may be back, and are counted gone (or sent) like the changed.
    candidates = _in_key_order(pd.concat([changed, *touched, unsettled[RECORD_KEY].astype(TEXT_DTYPE), since.gone],
                                         ignore_index=True).drop_duplicates())
    if _most_rows(name, len(candidates), since.records):
        return None
    ledger_rows = pd.concat([unsettled, store.ledger.matching(
        target.name, obj.name, candidates[~key_isin(candidates, unsettled[RECORD_KEY])])], ignore_index=True)
    selection = _Rows(store, obj, candidates, rows)
    ranged = plan_inputs_by_key_range(store, target.name, obj, references, known, rows=rows, full_refresh=False,
                                      frames=selection.frames(), ledger_rows=ledger_rows)
    planned = selection.read_keys()
    if not _keys_are_rows(name, ranged, planned):
        return None
    # The target's confirmed records of the rows planned or changed now; of them, those a planned record still is.
    sent = ledger_rows.loc[(ledger_rows["state"] == LedgerState.SENT.value).to_numpy(dtype=bool), RECORD_KEY]
    replanned = int(key_isin(sent, pd.concat([planned, changed, since.gone], ignore_index=True)).sum())
    still = int(key_isin(sent, ranged.present[RECORD_KEY]).sum())
    confirmed = store.ledger.size(target.name, obj.name) - int((unsettled["state"] != LedgerState.SENT.value).sum())
    ranged.unplanned, ranged.gone = confirmed - replanned, replanned - still
    _planned(name, len(planned), ranged.unplanned)
    return ranged


def _text_key(entity_name: str) -> bool:
    """Whether every key part is stored as text: then a joined key finds its row by its parts, and sorts as the
    hub orders its keys (an integer key part sorts by its value, not its text)."""
    ent = entity(entity_name)
    return not any(ent.field(name).kind in (Kind.DECIMAL, Kind.INTEGER, Kind.BOOLEAN) for name in ent.key)


def _most_rows(name: str, planned: int, rows: int) -> bool:
    """Whether `planned` of `rows` is too many to read by key (logged)."""
    if planned <= MOST_ROWS * rows:
        return False
    log.info("%s: planning every row: %d of its %d rows changed since its last sync (or have no version)",
             name, planned, rows)
    return True


def _keys_are_rows(name: str, ranged: RangedPlanInputs, planned: pd.Series) -> bool:
    """Whether every planned record's key is the joined key of a planned row (else logged, its parts removed)."""
    if key_isin(ranged.present[RECORD_KEY], planned).all():
        return True
    log.info("%s: planning every row: its record keys are not its hub rows' keys", name)
    ranged.payload.close()  # its spilled parts
    return False


def _planned(name: str, planned: int, unchanged: int) -> None:
    log.info("%s: planned the %d rows changed since its last sync; %d unchanged taken from the ledger",
             name, planned, unchanged)


class _Selection:
    """Which primary rows to map (`planned`, their joined keys), and the ledger's (record_key, payload_hash)
    of the others (`unchanged`). Only the key columns and versions of the whole entity are read; rows, and
    their nested rows, only for what is planned (`frames`)."""

    def __init__(self, store: Store, obj: TargetObject, since: dict[str, int], sent: pd.DataFrame,
                 rows: int) -> None:
        self._store, self._obj, self._rows = store, obj, rows
        self._primary = obj.source_entities[0]
        self._key = entity(self._primary).key
        sent_keys = KeySet(sent[RECORD_KEY])
        sent = sent[[RECORD_KEY, "payload_hash"]].reset_index(drop=True)
        # Parents of nested rows written since: a sell unit changed, added or gone from the export.
        touched = [store.hub.changed_since(name, since[name], [column])[column]
                   for name, column in obj.range_columns]
        planned, firsts, unchanged = [], [], []
        for versions in store.hub.iter_versions(self._primary, batch_rows=rows, in_source=True):
            keys = joined_key(versions, self._key)
            plan = _changed(versions, since[self._primary])
            for parent_keys in touched:
                plan |= key_isin(keys, parent_keys)
            at = sent_keys.positions(keys)
            plan |= at < 0
            planned.append(keys[plan])
            firsts.append(versions[self._key[0]][plan])
            unchanged.append(sent.iloc[at[~plan]])
        self.planned, self._first = (pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=TEXT_DTYPE)
                                     for parts in (planned, firsts))
        self.unchanged = (pd.concat(unchanged, ignore_index=True) if unchanged
                          else pd.DataFrame({RECORD_KEY: pd.Series([], dtype=TEXT_DTYPE),
                                             "payload_hash": pd.Series([], dtype="int64")}))
        self.read = 0  # planned rows read back from the hub by key

    def frames(self) -> Iterator[Mapping[str, pd.DataFrame]]:
        """The planned rows, up to `rows` primary rows a frame with their nested rows (in the export)."""
        for frame in _read_by_key(self._store, self._obj, self.planned, self._first, self._rows):
            self.read += len(frame[self._primary])
            yield frame


class _Rows:
    """The rows of the export among some joined keys, read by key (`frames`), and which were (`read_keys`)."""

    def __init__(self, store: Store, obj: TargetObject, keys: pd.Series, rows: int) -> None:
        self._store, self._obj, self._rows, self._keys = store, obj, rows, keys.astype(TEXT_DTYPE)
        self._read: list[pd.Series] = []

    def frames(self) -> Iterator[Mapping[str, pd.DataFrame]]:
        first = pc.list_element(pc.split_pattern(pa.array(self._keys.array), KEY_SEPARATOR, max_splits=1), 0)
        first = pd.Series(pd.arrays.ArrowStringArray(first), dtype=TEXT_DTYPE)
        key = entity(self._obj.source_entities[0]).key
        for frame in _read_by_key(self._store, self._obj, self._keys, first, self._rows):
            self._read.append(joined_key(frame[self._obj.source_entities[0]], key))
            yield frame

    def read_keys(self) -> pd.Series:
        return pd.concat(self._read, ignore_index=True) if self._read else pd.Series([], dtype=TEXT_DTYPE)


def _read_by_key(store: Store, obj: TargetObject, keys: pd.Series, first: pd.Series,
                 rows: int) -> Iterator[Mapping[str, pd.DataFrame]]:
    """The rows of the export whose joined key is among `keys` (`first`: their first key column), up to
    `rows` of `keys` a frame, with their nested rows."""
    hub, primary = store.hub, obj.source_entities[0]
    key = entity(primary).key
    whole = whole_frames(store, obj)
    for start in range(0, len(keys), rows):
        # Read by the key's first column, then cut to the keys (a price's product holds a few).
        main = hub.read_matching(primary, key[0], first.iloc[start:start + rows], in_source=True)
        main = main[key_isin(joined_key(main, key), keys.iloc[start:start + rows])].reset_index(drop=True)
        yield {primary: main} | whole | {name: hub.read_matching(name, column, main[key[0]], in_source=True)
                                         for name, column in obj.range_columns}


def _in_key_order(keys: pd.Series) -> pd.Series:
    """Joined text keys in the hub's key order (byte-wise, KEY_SEPARATOR below every character of a key part),
    so that the rows are mapped and sent in the order a full plan sends them."""
    order = pc.sort_indices(pa.array(keys.array))
    return keys.iloc[order.to_numpy()].reset_index(drop=True)


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
