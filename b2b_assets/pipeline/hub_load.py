"""Loading a staged export into the hub with seed 000's importer semantics.

Upsert by stable key (the same record twice updates, never duplicates). A
record whose required parent does not exist yet (a location or user whose
organization is missing) is not dropped as seed 000's importer would: it is
held, with its reason, and retried on every later run until its parent lands.
An empty or truncated export never removes anything: the hub only records
which keys the latest complete export contained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from b2b_assets.model import OnMissing, entity
from b2b_assets.model.frames import key_isin
from b2b_assets.pipeline import export_fingerprint
from b2b_assets.pipeline.hub_parents import ParentKeys
from b2b_assets.pipeline.staging import StagedExport, read_staged, read_staged_keys, staged_export
from b2b_assets.pipeline.inbound import API_SOURCE
from b2b_assets.sources import missing_references
from b2b_assets.store import Store, record_key
from b2b_assets.store.hub_digest import HubDigest
from b2b_assets.store.key_index import frame_hashes

# A load reads the hub's digest of the entity when its export has at least 1/DIGEST_WORTH_IT as many rows
# as the hub: reading a record's two hashes costs about a quarter of staging and merging a row.
DIGEST_WORTH_IT = 4


@dataclass
class HubLoad:
    entity: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    held: int = 0
    released: int = 0
    absent_from_export: int = 0
    dangling: dict[str, int] = field(default_factory=dict)  # optional references the hub lacks, by reference
    not_reloaded: str | None = None  # "unchanged since run <id>: not re-loaded": the hub holds this export already


def _split_orphans(name: str, frame: pd.DataFrame, parents: ParentKeys, load: HubLoad,
                   not_mapped: frozenset[str] = frozenset()):
    """(loadable rows, held rows, reasons for the held rows); counts dangling optional references."""
    suspects = parents.suspects(frame)
    if not suspects.any():
        return frame, frame.iloc[0:0], pd.Series([], dtype="string")
    missing = missing_references(entity(name), frame[suspects], parents.keys)
    if missing.empty:
        return frame, frame.iloc[0:0], pd.Series([], dtype="string")
    blocking = missing["on_missing"] == OnMissing.HOLD.value
    for reference, count in missing.loc[~blocking, "reference"].value_counts().items():
        load.dangling[str(reference)] = load.dangling.get(str(reference), 0) + int(count)
    hold = missing[blocking]
    why = "no " + hold["entity"] + " record with key '" + hold["missing_value"] + "' (" + hold["reference"] + ")"
    # A partial export: the parent cannot arrive until the mapping names its entity, so say that.
    unmapped = hold["entity"].isin(list(not_mapped))
    why = why.where(~unmapped, why + "; " + hold["entity"] + " is not in the mapping")
    reasons = why.groupby(hold["row"]).agg("; ".join)
    held_rows = frame.loc[reasons.index]
    return frame.drop(index=reasons.index), held_rows, pd.Series(reasons.to_numpy(), index=held_rows.index, dtype="string")


def load_entity(store: Store, staging: Path, name: str, not_mapped: frozenset[str] = frozenset()) -> HubLoad:
    """`not_mapped`: entities the mapping does not name, so held records can say their parent never comes."""
    model = entity(name)
    load = HubLoad(name)
    export = staged_export(staging, name)
    # Already in the hub (the erp step found the export unchanged): only held records are retried, since
    # their parents may have landed from another entity, unless a parent's load may have resolved references.
    loaded = export_fingerprint.already_loaded(store, staging, name)
    if loaded is not None and export_fingerprint.dangling_still_counted(store, model, loaded, not_mapped):
        load.not_reloaded = f"unchanged since run {loaded.run_id}: not re-loaded"
        if store.held.count(name) == 0:
            load.unchanged, load.dangling = export.rows, dict(loaded.dangling or {})
            return load
    else:
        loaded = None
    parents = ParentKeys(store, model)  # read and indexed once here rather than in every batch's orphan check
    digest = None if loaded else _digest(store, name, export)  # only held records to retry: a few rows
    previously_held = store.held.load(name)
    key = list(model.key)
    held_keys = record_key(name, previously_held)  # matched as text in Arrow, not through a pandas MultiIndex
    # The export's keys as 64-bit hashes (8 bytes a row, not the key text): `_mark_presence` counts them and
    # reads the keys themselves back from the staged file only when it has flags to set.
    seen_keys: list[np.ndarray] = []
    retried = np.zeros(len(previously_held), dtype=bool)

    def land(frame: pd.DataFrame) -> None:
        ok, held, reasons = _split_orphans(name, frame, parents, load, not_mapped)
        if not ok.empty:
            counts = store.hub.upsert(name, ok, digest)
            load.inserted += counts.inserted
            load.updated += counts.updated
            load.unchanged += counts.unchanged
            parents.add_batch(ok)
        if not held.empty:
            store.held.hold(name, held, reasons)
            load.held += len(held)

    for batch in () if loaded else read_staged(staging, name):
        if not previously_held.empty:
            retried |= key_isin(held_keys, record_key(name, batch))
        if export is not None and export.full_export:
            seen_keys.append(frame_hashes(batch[key]))
        land(batch)

    export_all_landed = load.held == 0  # every key of the export is now in the hub
    # Held records the latest export did not repeat (an incremental pull) are retried from the held table.
    if not previously_held.empty:
        leftovers = previously_held.loc[~retried].drop(columns=["_held_reason"], errors="ignore")
        if not leftovers.empty:
            land(leftovers)
        now_in_hub = key_isin(held_keys, record_key(name, store.hub.keys(name)))
        released = previously_held.loc[now_in_hub, key]
        if not released.empty:
            store.held.release(name, released)
            load.released = len(released)

    if loaded is not None:  # its rows are in the hub, but for those held; its references as they were counted
        load.unchanged = max(export.rows - load.held - load.released, 0)
        load.dangling = dict(loaded.dangling or {})
        return load
    if export is not None and export.full_export and export.rows > 0:
        key_hashes = np.concatenate([np.zeros(0, np.uint64), *seen_keys])
        load.absent_from_export = _mark_presence(store, staging, export, key_hashes, export_all_landed,
                                                 len(digest) if digest is not None else None)
    if export is not None and export.cursor:
        # Only now, with the pull safely in the hub, may the next pull start after it.
        store.cursors.set(API_SOURCE, name, export.cursor)
    export_fingerprint.record_loaded(store, staging, name, export, load.dangling)
    return load


def _digest(store: Store, name: str, export: StagedExport | None) -> HubDigest | None:
    """The hub's digest of the entity, for the upserts to skip unchanged rows, when reading it (O(hub))
    is cheaper than staging the export whole (O(export)): not for a small pull into a big hub."""
    if export is None or export.rows * DIGEST_WORTH_IT < store.hub.count(name):
        return None
    return store.hub.digest(name)


def _mark_presence(store: Store, staging: Path, export: StagedExport, key_hashes: np.ndarray, all_in_hub: bool,
                   hub_rows: int | None) -> int:
    """`mark_presence`, skipped when it would write nothing: the export's keys, all in the hub, are as many
    as the hub's records (so they are the same keys) and none is flagged absent. Two counts instead of
    staging every key again and probing the hub with each: the usual reload changes no flag.
    Distinct keys are counted by their hashes: a collision can only undercount, and then the flags are
    set rather than skipped (the hub holds every export key, so it has at least as many as are distinct).
    `hub_rows`: the digest's count of the hub's records, when the load kept one (else the hub counts them)."""
    name = export.entity
    if hub_rows is None:
        hub_rows = store.hub.count(name)
    if all_in_hub and hub_rows == len(pd.unique(key_hashes)) and store.hub.count(name, in_source=False) == 0:
        return 0
    keys = read_staged_keys(staging, export)
    if keys is None:  # staged again since this load began: that export's own load will set the flags
        return store.hub.count(name, in_source=False)
    return store.hub.mark_presence(name, keys)
