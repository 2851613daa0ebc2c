"""Where text keys are among a fixed set of keys, looked up many times against a set built once.

`model.frames.key_positions` builds Arrow's hash table of the known keys on every call: right for one
lookup, but a plan that looks up each key range of the hub against all of an object's confirmed
ledger keys would rebuild it once per range (50 times for 5M prices). Here the known keys' 64-bit
hashes (`sources.keys.key_hashes`) are sorted once; each lookup hashes only its own keys and
binary-searches them. A hash match is then checked against the key text itself, so two keys sharing
a hash can only make a key look absent (the caller then plans it as it would a new one), never make
one key stand for another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.keys import key_hashes


class KeyLookup:
    def __init__(self, known: pd.Series) -> None:
        self._known = _text(known)
        hashes = _hashes(self._known)
        self._order = np.argsort(hashes, kind="stable")  # stable: of equal keys, the first is found
        self._sorted = hashes[self._order]

    def positions(self, values: pd.Series) -> np.ndarray:
        """Where each of `values` is among the known keys (the first place), -1 where it is not."""
        out = np.full(len(values), -1, dtype=np.int64)
        if not len(values) or not len(self._sorted):
            return out
        probe = _text(values)
        hashes = _hashes(probe)
        at = np.searchsorted(self._sorted, hashes).clip(max=len(self._sorted) - 1)
        found = np.flatnonzero(self._sorted[at] == hashes)
        candidates = self._order[at[found]]
        same = pc.equal(probe.take(pa.array(found)), self._known.take(pa.array(candidates)))
        same = same.fill_null(False).to_numpy(zero_copy_only=False)
        out[found[same]] = candidates[same]
        return out


def _text(keys: pd.Series) -> pa.Array:
    text = pa.array(pd.Series(keys).astype(TEXT_DTYPE).array)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _hashes(text: pa.Array) -> np.ndarray:
    return key_hashes(pd.DataFrame({"key": pd.Series(pd.arrays.ArrowStringArray(text))}))
