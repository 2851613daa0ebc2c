"""Duplicate keys within one file, across all of its batches.

Keys are remembered as 64-bit hashes with the row that first used them, in a
few sorted arrays that are merged as they grow (like an LSM tree), so five
million price keys cost about 80 MB and each batch a handful of binary
searches. Two different keys sharing a hash is possible in theory (about one
chance in a million for five million keys); it would report a false duplicate,
never lose one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class KeyTracker:
    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, first row numbers)

    def check(self, keys: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows in file order: which repeat a key seen before (in this batch or earlier), and where first seen."""
        if keys.empty:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
        hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
        uniques, first_index, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        first_row = rows[first_index]
        seen_before = np.zeros(len(uniques), dtype=bool)
        for level_hashes, level_rows in self._levels:
            position = np.searchsorted(level_hashes, uniques).clip(max=len(level_hashes) - 1)
            hit = level_hashes[position] == uniques
            first_row = np.where(hit & ~seen_before, level_rows[position], first_row)
            seen_before |= hit
        new = ~seen_before
        self._add(uniques[new], rows[first_index][new])
        duplicate = seen_before[inverse] | (np.arange(len(hashes)) != first_index[inverse])
        return duplicate, first_row[inverse]

    def _add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if not len(hashes):
            return
        self._levels.append((hashes, rows))
        while len(self._levels) > 1 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (h1, r1), (h2, r2) = self._levels.pop(), self._levels.pop()
            merged = np.concatenate([h2, h1])
            order = np.argsort(merged, kind="stable")
            self._levels.append((merged[order], np.concatenate([r2, r1])[order]))
