"""Key text: its canonical spelling, and duplicate keys within one file across all of its batches.

Keys are remembered as 64-bit hashes with the row that first used them, in a
few sorted arrays that are merged as they grow (like an LSM tree), so five
million price keys cost about 80 MB. A bitmap over the hashes' top bits (about
64 bits a key, resized as the keys grow; 32 MB at most) tells which keys of a
batch may have been seen; only those few are binary-searched, so a batch costs
about the same at row 100,000 as at row five million. Two different keys
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


def key_hashes(keys: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of `keys`, which depends on that row's values alone (polars' row hash: about
    eight times faster than pandas' on Arrow strings). Stable within a process, which is all a file's
    duplicate check needs; never stored."""
    columns = {str(i): pa.array(keys[name].array) for i, name in enumerate(keys.columns)}
    return pl.DataFrame(columns).hash_rows().to_numpy().view(np.int64)


MAX_SEEN_BITS = 28  # 2**28 bits: five million keys mark 2 % of them, so 98 % of new keys skip the binary search


class KeyTracker:
    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, first row numbers)
        self._seen: np.ndarray | None = None  # the bitmap, allocated with the first key
        self._seen_bits = 0  # its size is 2**_seen_bits bits
        self._count = 0

    def copy(self) -> KeyTracker:
        twin = KeyTracker()
        twin._levels = list(self._levels)  # levels are never changed in place, only replaced
        twin._seen = None if self._seen is None else self._seen.copy()
        twin._seen_bits, twin._count = self._seen_bits, self._count
        return twin

    def check(self, keys: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows in file order: which repeat a key seen before (in this batch or earlier), and where first seen."""
        return self.check_hashes(key_hashes(keys), rows)

    def check_hashes(self, hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`check` for keys already hashed with `key_hashes`."""
        if not len(hashes):
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
        # np.unique's steps, spelled out to keep the sort order for the bitmap and the searches.
        order = np.argsort(hashes, kind="stable")  # stable: the first of equal hashes is the first in the file
        ordered = hashes[order]
        starts = np.ones(len(hashes), dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        uniques, first_index = ordered[starts], order[starts]
        inverse = np.empty(len(hashes), dtype=np.intp)
        inverse[order] = np.cumsum(starts) - 1
        first_row = rows[first_index]
        seen_before = np.zeros(len(uniques), dtype=bool)
        if self._seen is not None:
            maybe = np.flatnonzero(self._bit_set(uniques))
            for level_hashes, level_rows in self._levels:
                if not len(maybe):
                    break
                position = np.searchsorted(level_hashes, uniques[maybe]).clip(max=len(level_hashes) - 1)
                hit = level_hashes[position] == uniques[maybe]
                found = maybe[hit]
                first_row[found] = level_rows[position[hit]]
                seen_before[found] = True
                maybe = maybe[~hit]  # a key is in one level at most
        new = ~seen_before
        self._add(uniques[new], rows[first_index][new])
        duplicate = seen_before[inverse] | (np.arange(len(hashes)) != first_index[inverse])
        return duplicate, first_row[inverse]

    def _bit_set(self, hashes: np.ndarray) -> np.ndarray:
        slots = hashes.view(np.uint64) >> np.uint64(64 - self._seen_bits)
        return (self._seen[slots >> np.uint64(3)] >> (slots & np.uint64(7)).astype(np.uint8)) & 1 == 1

    def _mark(self, hashes: np.ndarray) -> None:
        self._count += len(hashes)
        wanted = min(max(int(self._count * 64).bit_length(), 16), MAX_SEEN_BITS)
        if wanted > self._seen_bits:  # a new, larger bitmap: every key so far marked again
            self._seen, self._seen_bits = np.zeros(1 << (wanted - 3), dtype=np.uint8), wanted
            for level_hashes, _ in self._levels:
                self._set_bits(level_hashes)
        self._set_bits(hashes)

    def _set_bits(self, hashes: np.ndarray) -> None:
        slots = hashes.view(np.uint64) >> np.uint64(64 - self._seen_bits)
        np.bitwise_or.at(self._seen, slots >> np.uint64(3), np.left_shift(1, slots & np.uint64(7)).astype(np.uint8))

    def _add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if not len(hashes):
            return
        self._mark(hashes)
        self._levels.append((hashes, rows))
        while len(self._levels) > 1 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (h1, r1), (h2, r2) = self._levels.pop(), self._levels.pop()
            merged = np.concatenate([h2, h1])
            order = np.argsort(merged, kind="stable")
            self._levels.append((merged[order], np.concatenate([r2, r1])[order]))


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
    """Whether a string column's data may hold an ASCII space or a non-ASCII character (it scans the whole
    data buffers, which may hold bytes of sliced-off values too: a yes only means "look closer")."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        data = chunk.buffers()[2]
        if data is not None and len(data) and (np.frombuffer(data, dtype=np.uint8).max() >= 0x80
                                               or b" " in data.to_pybytes()):
            return True
    return False


def _may_fold(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether upper-casing or dropping spaces may change a value of the column."""
    if _has_space_or_wide(text):
        return True
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    return any(c.buffers()[2] is not None and not pc.ascii_upper(c).buffers()[2].equals(c.buffers()[2])
               for c in chunks)


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
