"""The store as a dry run sees it: everything the real store holds, plus what the run would write, written nowhere.

A dry run runs the real pipeline code (`stage_entity`, `load_entity`, `sync_object`) against a
`PlannedStore` instead of the `Store`, so its numbers are the real run's numbers, not a second
implementation of them. What the run would write goes to files of its own under
`data/state/dry_runs/<run>/`:

- `staging/`: the validated export, as `erp/<entity>` would stage it;
- `hub/<entity>.part*.parquet`: the records `hub/<entity>` would upsert, and `<entity>.presence.parquet`
  the keys of a complete export; reads of the hub see the real hub overlaid with them, so a target
  plans against the hub as the real run would leave it;
- `keys/<target>__<object>.parquet`: the record keys each object would send (see `pipeline/outbound.py`).

Hub rows, held records, quarantine rows, source cursors, ledger rows and sync locks are left as
they are: the ledger is read-only here, and a write to it is a bug, so it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import Store, record_key, row_hashes
from b2b_assets.store.hub import HubTables, UpsertCounts
from b2b_assets.store.tables import IN_SOURCE, LOADED_AT, ROW_HASH

DRY_RUNS = "dry_runs"


def dry_run_directory(state_dir: Path, run_id: str) -> Path:
    return state_dir / DRY_RUNS / run_id


class PlannedHub:
    """`HubTables`' reads and writes, the writes kept in this run's files (see the module docstring)."""

    def __init__(self, real: HubTables, directory: Path) -> None:
        self._real = real
        self._directory = directory
        self._real_rows: dict[str, pd.DataFrame] = {}  # the real hub, read once per entity and step
        self._hashes: dict[str, pd.Series] = {}  # row hash by record key, as this run has left the hub so far

    # -- writing (to the run's files) ----------------------------------------------------------------

    def digest(self, entity_name: str) -> None:
        """No digest: `upsert` compares every row with the run's own row hashes."""
        return None

    def upsert(self, entity_name: str, frame: pd.DataFrame, digest: None = None) -> UpsertCounts:
        """What `HubTables.upsert` would count: new keys, changed row hashes, the rest unchanged."""
        ent = entity(entity_name)
        canonical = cast_frame(ent, frame)
        canonical = canonical[~canonical.duplicated(subset=list(ent.key), keep="last")]
        if canonical.empty:
            return UpsertCounts(0, 0, 0)
        canonical[ROW_HASH] = row_hashes(ent, canonical, canonical=True).to_numpy()
        current = self._current_hashes(ent.name)
        keys = record_key(ent, canonical).to_numpy()
        before = current[current.index.isin(keys)].astype("Int64").reindex(keys)  # NA: a key the hub lacks
        hashes = canonical[ROW_HASH].to_numpy(dtype="int64")
        known = before.notna().to_numpy()
        changed = known & (before.fillna(0).to_numpy(dtype="int64") != hashes)
        self._hashes[ent.name] = pd.concat([current[~current.index.isin(keys)], pd.Series(hashes, index=keys)])
        # One file per call, read back in order (a later key wins): appending, not rewriting, per batch.
        self._save(canonical, self._path(ent.name, f"part{len(self._parts(ent.name)):06d}"))
        inserted, updated = int((~known).sum()), int(changed.sum())
        return UpsertCounts(inserted, updated, len(canonical) - inserted - updated)

    def mark_presence(self, entity_name: str, present_keys: pd.DataFrame) -> int:
        ent = entity(entity_name)
        present = record_key(ent, present_keys).drop_duplicates()
        self._save(pd.DataFrame({"record_key": present.to_numpy()}), self._path(ent.name, "presence"))
        return int((~record_key(ent, self.keys(ent.name)).isin(present)).sum())

    # -- reading (the real hub overlaid with the run's files) ----------------------------------------

    def read_all(self, entity_name: str, *, with_meta: bool = False, in_source: bool | None = None) -> pd.DataFrame:
        ent = entity(entity_name)
        real, loaded = self._real_frame(ent.name), self._loaded(ent.name)
        if loaded.empty and self._presence(ent.name) is None:
            rows = real
        else:
            replaced = record_key(ent, real).isin(record_key(ent, loaded)).to_numpy()
            loaded = loaded.assign(**{IN_SOURCE: True, LOADED_AT: pd.Timestamp.now(tz="UTC")})
            rows = pd.concat([real[~replaced], loaded.astype(real.dtypes.to_dict())], ignore_index=True)
            presence = self._presence(ent.name)
            if presence is not None:
                rows[IN_SOURCE] = record_key(ent, rows).isin(presence).to_numpy()
        if in_source is not None:
            rows = rows[rows[IN_SOURCE] == in_source].reset_index(drop=True)
        return rows if with_meta else rows[ent.columns]

    def iter_batches(self, entity_name: str, *, batch_rows: int = 100_000, with_meta: bool = False,
                     in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        """`read_all` in frames of at most `batch_rows` rows (for the planner's key ranges)."""
        rows = self.read_all(entity_name, with_meta=with_meta, in_source=in_source)
        for start in range(0, len(rows), batch_rows):
            yield rows.iloc[start:start + batch_rows].reset_index(drop=True)

    def read_key_range(self, entity_name: str, column: str, *, above: object = None, upto: object = None,
                       in_source: bool | None = None) -> pd.DataFrame:
        """`HubTables.read_key_range` over the overlay: Python compares text as the store does, by code point."""
        rows = self.read_all(entity_name, in_source=in_source)
        values = rows[column].astype(object)
        inside = pd.Series(True, index=rows.index)
        if above is not None:
            inside &= values.map(lambda v: v is not None and v is not pd.NA and v > above).astype(bool)
        if upto is not None:
            inside &= values.map(lambda v: v is not None and v is not pd.NA and v <= upto).astype(bool)
        return rows[inside.to_numpy()].reset_index(drop=True)

    def empty(self, entity_name: str) -> pd.DataFrame:
        return self._real.empty(entity_name)

    def read(self, entity_name: str, batch_size: int = 100_000, *, with_meta: bool = False,
             in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        return self.iter_batches(entity_name, batch_rows=batch_size, with_meta=with_meta, in_source=in_source)

    def keys(self, entity_name: str, *, in_source: bool | None = None) -> pd.DataFrame:
        ent, key = entity(entity_name), list(entity(entity_name).key)
        if in_source is not None:
            return self.read_all(ent.name, in_source=in_source)[key]
        # Parents' keys for every hub load: the real hub's key columns only, not its whole table.
        both = pd.concat([self._real.keys(ent.name), self._loaded(ent.name)[key]], ignore_index=True)
        return both[~both.duplicated(keep="first")].reset_index(drop=True)

    def count(self, entity_name: str, *, in_source: bool | None = None) -> int:
        return len(self.keys(entity_name, in_source=in_source))

    # -- helpers -------------------------------------------------------------------------------------

    def _real_frame(self, name: str) -> pd.DataFrame:
        if name not in self._real_rows:
            self._real_rows[name] = self._real.read_all(name, with_meta=True)
        return self._real_rows[name]

    def _current_hashes(self, name: str) -> pd.Series:
        if name not in self._hashes:
            rows = self.read_all(name, with_meta=True)
            self._hashes[name] = pd.Series(rows[ROW_HASH].to_numpy(dtype="int64"),
                                           index=record_key(name, rows).to_numpy())
        return self._hashes[name]

    def _parts(self, name: str) -> list[Path]:
        return sorted(self._directory.glob(f"{name}.part*.parquet"))

    def _path(self, name: str, part: str) -> Path:
        return self._directory / f"{name}.{part}.parquet"

    def _loaded(self, name: str) -> pd.DataFrame:
        """Every record this run would upsert, the last version of each key."""
        ent, parts = entity(name), self._parts(name)
        if not parts:
            return cast_frame(ent, pd.DataFrame()).assign(**{ROW_HASH: pd.Series([], dtype="int64")})
        table = pd.concat([pq.read_table(p).to_pandas(types_mapper=pd.ArrowDtype) for p in parts], ignore_index=True)
        table = table[~table.duplicated(subset=list(ent.key), keep="last")]
        return cast_frame(ent, table).assign(**{ROW_HASH: table[ROW_HASH].to_numpy(dtype="int64")})

    def _presence(self, name: str) -> pd.Index | None:
        path = self._path(name, "presence")
        return pd.Index(pq.read_table(path).column("record_key").to_pylist()) if path.exists() else None

    def _save(self, frame: pd.DataFrame, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.reset_index(drop=True).to_parquet(path)


class _UnwrittenHeld:
    """Held records as they are: the load is real, holding and releasing are only counted."""

    def __init__(self, real) -> None:  # noqa: ANN001 - HeldRecords
        self._real = real

    def load(self, entity_name: str) -> pd.DataFrame:
        return self._real.load(entity_name)

    def count(self, entity_name: str) -> int:
        return self._real.count(entity_name)

    def hold(self, entity_name: str, frame: pd.DataFrame, reasons, missing_references=None) -> int:  # noqa: ANN001
        return int((~record_key(entity_name, frame).duplicated()).sum())

    def release(self, entity_name: str, key_frame: pd.DataFrame) -> int:
        return int(len(record_key(entity_name, key_frame).drop_duplicates()))


class _UnwrittenQuarantine:
    """Quarantined rows stay in the run's report (and its metadata), not in the store."""

    def __init__(self, real) -> None:  # noqa: ANN001 - Quarantine
        self._real = real

    def add(self, run_id: str, entity_name: str, issues: pd.DataFrame) -> int:
        return len(issues)

    def __getattr__(self, name: str):  # noqa: ANN204 - every read is the real one
        return getattr(self._real, name)


class _UnwrittenCursors:
    """An incremental pull starts where the last real run left off, and a dry run never moves that."""

    def __init__(self, real) -> None:  # noqa: ANN001 - SourceCursors
        self._real = real

    def get(self, source: str, entity_name: str) -> str | None:
        return self._real.get(source, entity_name)

    def set(self, source: str, entity_name: str, cursor: str) -> None:
        return None


class ReadOnlyLedger:
    """The sync ledger for planning: every read is the real one; a write is a bug in the dry-run path."""

    def __init__(self, real) -> None:  # noqa: ANN001 - SyncLedger
        self._real = real

    def record(self, target: str, entity_name: str, outcomes: pd.DataFrame) -> int:
        raise RuntimeError(f"{target}/{entity_name}: a dry run tried to write the sync ledger")

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._real, name)


class PlannedStore:
    """A `Store` for dry runs (see the module docstring): reads are real, writes stay in `directory`."""

    def __init__(self, real: Store, directory: Path) -> None:
        self.directory = directory
        self.staging_dir = directory / "staging"
        self.keys_dir = directory / "keys"
        self.hub = PlannedHub(real.hub, directory / "hub")
        self.held = _UnwrittenHeld(real.held)
        self.quarantine = _UnwrittenQuarantine(real.quarantine)
        self.cursors = _UnwrittenCursors(real.cursors)
        self.ledger = ReadOnlyLedger(real.ledger)
        self.engine = real.engine  # for the read-only queries of the outcome's problem details (store/health.py)

    def lock(self, target: str, entity_name: str, holder: str):  # noqa: ANN201
        """No lock: a dry run writes nothing the locks protect, so it never waits for (or blocks) a real run."""
        return nullcontext()
