"""KeyLookup finds text keys among a set built once, as `key_positions` does, and a hash collision cannot
make one key stand for another."""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2b_assets.model.frames import key_positions
from b2b_assets.pipeline import key_lookup
from b2b_assets.pipeline.key_lookup import KeyLookup


def text(values) -> pd.Series:
    return pd.Series(values, dtype="string[pyarrow]")


def test_positions_match_key_positions_for_present_absent_repeated_and_missing_keys():
    known = text([f"KT-{i:05d}\x1fPL{i % 3}" for i in range(5000)] + ["KT-00007\x1fPL1", "é-ü"])
    probe = text(["KT-04999\x1fPL1", "nope", None, "é-ü", "KT-00007\x1fPL1", "", "KT-00007\x1fPL2"])
    lookup = KeyLookup(known)
    assert np.array_equal(lookup.positions(probe), key_positions(probe, known))
    for start in range(0, 5000, 700):  # the same lookup serves many ranges
        part = known[start:min(start + 700, 5000)].sample(frac=1.0, random_state=start)
        assert np.array_equal(lookup.positions(part), part.index.to_numpy())
    assert len(KeyLookup(text([])).positions(probe)) == len(probe)
    assert (KeyLookup(text([])).positions(probe) == -1).all()


def test_keys_sharing_a_hash_are_never_taken_for_each_other(monkeypatch):
    # Every key hashing alike: the worst collision. A key is then found only where its text is.
    monkeypatch.setattr(key_lookup, "_hashes", lambda keys: np.zeros(len(keys), dtype=np.int64))
    known = text(["A", "B", "C"])
    positions = KeyLookup(known).positions(text(["C", "A", "Z"]))
    assert positions[1] == 0 and positions[2] == -1
    assert positions[0] in (-1, 2)  # missed (planned as if unconfirmed), or found where it is; never 0 or 1
