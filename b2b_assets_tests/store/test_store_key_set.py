"""KeySet finds text keys among a set built once, as `key_positions` does (the first place of a repeated
key), and a hash collision cannot make one key stand for another."""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2b_assets.model.frames import key_positions
from b2b_assets.store import key_index
from b2b_assets.store.key_index import KeySet


def text(values) -> pd.Series:
    return pd.Series(values, dtype="string[pyarrow]")


def test_positions_match_key_positions_for_present_absent_repeated_and_missing_keys():
    known = text([f"KT-{i:05d}\x1fPL{i % 3}" for i in range(5000)] + ["KT-00007\x1fPL1", "é-ü"])
    probe = text(["KT-04999\x1fPL1", "nope", None, "é-ü", "KT-00007\x1fPL1", "", "KT-00007\x1fPL2"])
    lookup = KeySet(known)
    assert np.array_equal(lookup.positions(probe), key_positions(probe, known))
    for start in range(0, 5000, 700):  # the same lookup serves many ranges
        part = known[start:min(start + 700, 5000)].sample(frac=1.0, random_state=start)
        assert np.array_equal(lookup.positions(part), part.index.to_numpy())
    assert len(KeySet(text([])).positions(probe)) == len(probe)
    assert (KeySet(text([])).positions(probe) == -1).all()


def test_keys_sharing_a_hash_are_never_taken_for_each_other(monkeypatch):
    # Every key hashing alike: the worst collision. A key is then found only where its text is.
    monkeypatch.setattr(key_index, "_text_hashes", lambda keys: np.zeros(len(keys), dtype=np.uint64))
    known = text(["A", "B", "C"])
    positions = KeySet(known).positions(text(["C", "A", "Z"]))
    assert positions.tolist() == [2, 0, -1]  # each found where its text is, never at a key sharing its hash
