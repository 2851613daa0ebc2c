"""Key text: its canonical spelling, and duplicate keys within one file across all of its batches.

Keys are remembered as 64-bit hashes with the row that first used them, in a
few sorted arrays that are merged as they grow (like an LSM tree), so five
million price keys cost about 80 MB. A bitmap over the hashes' top bits (32 MB,
its pages allocated as keys touch them) tells which keys of a batch may have
been seen; only those few are binary-searched, so a batch costs about the same
at row 100,000 as at row five million. Two different keys
sharing a hash is possible in theory (about one chance in a million for five
million keys); it would report a false duplicate, never lose one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.value_bytes import column_bytes


def key_hashes(keys: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of `keys`, which depends on that row's values alone (polars' row hash: about
    eight times faster than pandas' on Arrow strings). Stable within a process, which is all a file's
    duplicate check needs; never stored."""
    columns = {str(i): pa.array(keys[name].array) for i, name in enumerate(keys.columns)}
    return pl.DataFrame(columns).hash_rows().to_numpy().view(np.int64)


SEEN_BITS = 28  # 2**28 bits (32 MB): five million keys mark 2 % of them, so 98 % of new keys skip the search
MERGE_LEVELS = 8  # this many sorted levels of one size are merged into one (a base-8 counter of batches)


class KeyTracker:
    def __init__(self) -> None:
        self._levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (merges, sorted hashes, first row numbers)
        # Full size from the start: zero pages are not allocated until a key marks them, so a small file
        # costs a few pages, and a large one never re-marks its keys into a grown bitmap.
        self._seen: np.ndarray | None = None

    def copy(self) -> KeyTracker:
        twin = KeyTracker()
        twin._levels = list(self._levels)  # levels are never changed in place, only replaced
        twin._seen = None if self._seen is None else self._seen.copy()
        return twin

    def check(self, keys: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows in file order: which repeat a key seen before (in this batch or earlier), and where first seen."""
        return self.check_hashes(key_hashes(keys), rows)

    def check_hashes(self, hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`check` for keys already hashed with `key_hashes`."""
        if not len(hashes):
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
        order = np.argsort(hashes)  # not stable (a third faster): the first of equal hashes is found below
        ordered = hashes[order]
        starts = np.ones(len(hashes), dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        if starts.all():  # no key twice in the batch (the common case)
            uniques, first_index, unique_of = ordered, order, None
        else:
            run_starts = np.flatnonzero(starts)
            uniques, first_index = ordered[run_starts], np.minimum.reduceat(order, run_starts)
            unique_of = np.cumsum(starts) - 1  # per sorted position
        first_row = rows[first_index]
        seen_before = self._seen_before(uniques, first_row)
        new = ~seen_before
        self._add(uniques[new], first_row[new])
        # Back from sorted positions to the batch's order.
        if unique_of is None:
            duplicate_sorted, first_sorted = seen_before, first_row
        else:
            duplicate_sorted = seen_before[unique_of] | (order != first_index[unique_of])
            first_sorted = first_row[unique_of]
        duplicate, first = np.empty(len(hashes), dtype=bool), np.empty(len(hashes), dtype=np.int64)
        duplicate[order], first[order] = duplicate_sorted, first_sorted
        return duplicate, first

    def _seen_before(self, uniques: np.ndarray, first_row: np.ndarray) -> np.ndarray:
        """Which of `uniques` an earlier batch had; their `first_row` becomes that batch's row."""
        seen_before = np.zeros(len(uniques), dtype=bool)
        if self._seen is None:
            return seen_before
        byte, bit = self._slots(uniques)
        maybe = np.flatnonzero(self._seen[byte] & bit)
        for _, level_hashes, level_rows in self._levels:
            if not len(maybe):
                break
            position = np.searchsorted(level_hashes, uniques[maybe]).clip(max=len(level_hashes) - 1)
            hit = level_hashes[position] == uniques[maybe]
            found = maybe[hit]
            first_row[found] = level_rows[position[hit]]
            seen_before[found] = True
            maybe = maybe[~hit]  # a key is in one level at most
        return seen_before

    @staticmethod
    def _slots(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each hash's byte of the bitmap and its bit in that byte, from the hash's top bits."""
        slots = hashes.view(np.uint64) >> np.uint64(64 - SEEN_BITS)
        return slots >> np.uint64(3), np.left_shift(np.uint8(1), (slots & np.uint64(7)).astype(np.uint8))

    def _mark(self, hashes: np.ndarray) -> None:
        """Set the bits of `hashes`, which are sorted, so hashes sharing a byte of the bitmap are neighbours:
        their bits are joined first, and each byte is written once (ufunc.at would take ten times longer)."""
        if self._seen is None:
            self._seen = np.zeros(1 << (SEEN_BITS - 3), dtype=np.uint8)
        byte, bit = self._slots(hashes)
        first = np.ones(len(byte), dtype=bool)
        np.not_equal(byte[1:], byte[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        self._seen[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)

    def _add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if not len(hashes):
            return
        self._mark(hashes)
        self._levels.append((0, hashes, rows))
        # Like a base-8 counter: eight levels of one size become one of the next. Each key is copied once per
        # eightfold growth of the file, and a lookup searches at most seven levels of each size.
        while len(self._levels) >= MERGE_LEVELS and len({m for m, _, _ in self._levels[-MERGE_LEVELS:]}) == 1:
            merged = self._levels[-MERGE_LEVELS:]
            del self._levels[-MERGE_LEVELS:]
            all_hashes = np.concatenate([h for _, h, _ in merged])
            order = np.argsort(all_hashes, kind="stable")  # a merge of sorted runs (timsort): linear, in effect
            self._levels.append((merged[0][0] + 1, all_hashes[order], np.concatenate([r for _, _, r in merged])[order]))


# Spaces a spreadsheet or an ERP screen slips into a code: NBSP, thin and ideographic spaces (Unicode Zs) ...
_SPACES = r"\p{Zs}+"
# ... and invisible ones that are not spaces at all (zero-width space and joiners, word joiner, stray BOM).
_INVISIBLE = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}]"


def normalize_key_text(column: pd.Series, *, fold_case: bool = False) -> pd.Series:
    """A key column's canonical spelling: invisible characters dropped, every run of Unicode spaces one
    ASCII space, trimmed; upper-cased when the source's keys are case-insensitive.

    Runs collapse because no ERP gives two records codes that differ only in how many spaces they hold,
    while copied or padded codes often do.
    """
    if not len(column):
        return column
    text = pa.array(column.array, type=pa.string())
    if not (fold_case or _has_space_or_wide(text) or pc.any(pc.equal(pc.binary_length(text), 0)).as_py()):
        return column.astype(TEXT_DTYPE)  # all ASCII, no space, no empty value: nothing to change (the common case)
    text = pc.replace_substring_regex(text, _INVISIBLE, "")
    text = pc.utf8_trim(pc.replace_substring_regex(text, _SPACES, " "), " ")
    if fold_case:
        text = pc.utf8_upper(text)
    out = pd.Series(pd.array(text, dtype=TEXT_DTYPE), index=column.index, name=column.name)
    return out.mask(out.str.len() == 0)


def _has_space_or_wide(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a string column's values may hold an ASCII space or a non-ASCII character."""
    return any(len(raw) and (raw.max() >= 0x80 or (raw == 0x20).any()) for raw in column_bytes(text))


def _may_fold(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether upper-casing or dropping spaces may change a value of the column: a lower-case ASCII letter,
    a space or a non-ASCII byte in it (one scan of its bytes)."""
    return any(len(raw) and (raw.max() >= 0x80 or (raw == 0x20).any() or ((raw - np.uint8(0x61)) < 26).any())
               for raw in column_bytes(text))


def folded_key_hashes(keys: pd.DataFrame, hashes: np.ndarray) -> np.ndarray:
    """Hashes of the keys as a reader compares them by eye, case and spaces ignored (for the look-alike
    report), given the keys' own `key_hashes`. Most codes are upper case without spaces already, so only
    the keys that change when folded are hashed again."""
    folded, changed = {}, np.zeros(len(keys), dtype=bool)
    for name in keys.columns:
        column = keys[name]
        if isinstance(column.dtype, pd.StringDtype):
            text = pa.array(column.array, type=pa.string())
            if not _may_fold(text):
                folded[name] = column  # no lower-case letter, space or non-ASCII byte: folding changes nothing
                continue
            upper = pc.utf8_upper(pc.replace_substring(text, " ", ""))
            changed |= pc.fill_null(pc.not_equal(upper, text), False).to_numpy(zero_copy_only=False)
            column = pd.Series(pd.array(upper, dtype=TEXT_DTYPE), index=keys.index)
        folded[name] = column
    if not changed.any():
        return hashes
    out = hashes.copy()
    out[changed] = key_hashes(pd.DataFrame(folded, index=keys.index)[changed])
    return out
