"""What the hub holds of one entity, two numbers a record, so that a load stages only what changed.

Read once per load (Arrow, store/adbc.py): each record's `_row_hash` beside an in-memory hash of
its key. A batch is hashed the same way; a row whose key is there with the same row hash is the
record the hub already holds, unchanged, and is neither staged nor merged. A reload of a 1 %
changed export then stages 1 % of its rows.

Exact, not probably right:
- A row is skipped only when the hub holds a record with the same key hash *and* the same row hash
  (`_row_hash` covers the key and every field). A new record can be taken for a stored one only if
  both 64-bit hashes collide at once; a changed record only if its new row hash equals its old one,
  the chance `upsert`'s `WHERE _row_hash IS DISTINCT FROM` has always taken (2^-64 a change).
- A key hash two records share (a collision) is never trusted: such rows are always staged.
- The digest follows the load: rows written update their row hash, new keys are added, so a key
  written twice in one load (a retried held record) is compared with what the hub holds by then.
- A row whose key is not in the digest is new, for counting as inserted without asking the hub.
  That holds while nothing else writes the entity during the load: the `hub` lock of
  `defs/hub/assets.py` sees to that.

Memory: two 64-bit numbers a record while the load runs (80 MB for 5M prices), not the keys
themselves; while new keys are merged in, briefly twice that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from b2b_assets.model import Entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import adbc
from b2b_assets.store.key_index import SortedHashes, frame_hashes
from b2b_assets.store.tables import HUB_TABLES, ROW_HASH


@dataclass(frozen=True)
class Matched:
    """One batch (canonical, no key twice) looked up in the digest, row by row."""

    key_hashes: np.ndarray  # uint64
    row_hashes: np.ndarray  # int64, as stored
    at: np.ndarray  # the key hash's position in the digest, -1 where the hub lacks it
    trusted: np.ndarray  # found, and no other record shares the key hash
    unchanged: np.ndarray  # found, trusted, with the same row hash: the hub holds this row already

    @property
    def any_known(self) -> bool:
        """Whether some row to stage may have its key in the hub (else every staged row is new)."""
        return bool((self.at[~self.unchanged] >= 0).any())


class HubDigest:
    """`keys`: the entity restricted to its key columns (what `cast_frame` casts of a frame here).

    Two sorted levels: the records the load began with plus those merged since (`_main`), and the keys
    inserted since the last merge (`_recent`). Inserting into one sorted array copies all of it, so a
    first load of 5M prices would copy the digest once per 100,000-row batch (fifty times, each copy
    as large as what was loaded so far); `_recent` is merged in when it reaches half of `_main`, so
    each record is copied a few times over a load, and the digest never holds more than twice itself.
    A position (`Matched.at`) counts through `_main`, then `_recent`.
    """

    def __init__(self, keys: Entity, key_hashes: np.ndarray, row_hashes: np.ndarray) -> None:
        self._entity = keys
        self._main = SortedHashes(key_hashes)
        self._main_rows = np.asarray(row_hashes, dtype=np.int64)[self._main.order]
        self._main.order = None  # it served to align the row hashes: 8 bytes a record held for nothing
        self._recent = SortedHashes(np.zeros(0, dtype=np.uint64))
        self._recent_rows = np.zeros(0, dtype=np.int64)

    @classmethod
    def read(cls, engine: Engine, keys: Entity) -> HubDigest:
        table = HUB_TABLES[keys.name]
        columns = [table.c[c] for c in (*keys.key, ROW_HASH)]
        # Unordered: nothing here needs key order, and PostgreSQL would sort 5M rows for it.
        data = adbc.read_table(engine, select(*columns), [], adbc.schema_of(columns))
        frame = adbc.to_frame(data)
        return cls(keys, _key_hashes(keys, frame), frame[ROW_HASH].to_numpy(dtype=np.int64))

    def __len__(self) -> int:
        return len(self._main) + len(self._recent)

    def match(self, canonical: pd.DataFrame, row_hashes: np.ndarray) -> Matched:
        keys = _key_hashes(self._entity, canonical)
        at = self._find(keys)
        found = at >= 0
        trusted = found.copy()
        trusted[found] = ~self._shared(at[found])
        unchanged = trusted.copy()
        unchanged[trusted] = self._rows_at(at[trusted]) == row_hashes[trusted]
        return Matched(keys, np.asarray(row_hashes, dtype=np.int64), at, trusted, unchanged)

    def landed(self, matched: Matched) -> None:
        """The rows of `matched` that were not unchanged are now in the hub, as staged."""
        written = ~matched.unchanged
        update = written & matched.trusted
        self._set_rows(matched.at[update], matched.row_hashes[update])
        new = written & (matched.at < 0)
        if new.any():
            where, order = self._recent.insert(matched.key_hashes[new])
            self._recent_rows = np.insert(self._recent_rows, where, matched.row_hashes[new][order])
        if len(self._recent) > len(self._main) // 2:
            where, _ = self._main.insert(self._recent.hashes)  # already sorted: its order is its own
            self._main_rows = np.insert(self._main_rows, where, self._recent_rows)
            self._recent = SortedHashes(np.zeros(0, dtype=np.uint64))
            self._recent_rows = np.zeros(0, dtype=np.int64)

    def _find(self, keys: np.ndarray) -> np.ndarray:
        at = self._main.find(keys)
        missing = np.flatnonzero(at < 0)
        if len(missing) and len(self._recent):
            recent = self._recent.find(keys[missing])
            at[missing] = np.where(recent >= 0, recent + len(self._main), -1)
        return at

    def _shared(self, at: np.ndarray) -> np.ndarray:
        """Whether another record has the same key hash. A hash is in one level only: a key goes into
        `_recent` only when neither level has its hash."""
        main = at < len(self._main)
        shared = np.empty(len(at), dtype=bool)
        shared[main] = self._main.shared(at[main])
        shared[~main] = self._recent.shared(at[~main] - len(self._main))
        return shared

    def _rows_at(self, at: np.ndarray) -> np.ndarray:
        main = at < len(self._main)
        rows = np.empty(len(at), dtype=np.int64)
        rows[main] = self._main_rows[at[main]]
        rows[~main] = self._recent_rows[at[~main] - len(self._main)]
        return rows

    def _set_rows(self, at: np.ndarray, rows: np.ndarray) -> None:
        main = at < len(self._main)
        self._main_rows[at[main]] = rows[main]
        self._recent_rows[at[~main] - len(self._main)] = rows[~main]


def _key_hashes(keys: Entity, frame: pd.DataFrame) -> np.ndarray:
    """The key columns hashed in their canonical form, so the hub's read back (text '' as NA, decimals
    parsed) and a staged batch agree, as they do for `_row_hash`."""
    return frame_hashes(cast_frame(keys, frame[keys.columns]))
