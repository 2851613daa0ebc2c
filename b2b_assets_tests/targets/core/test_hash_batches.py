"""Payload hashes depend on the record alone: the same whether an entity is hashed in one batch or many.

They are also pinned: the ledger stores them, so a release that changed them would resend every record
of every target once (README, "Streaming the outbound side").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2b_assets.model.decimals import parse_decimals
from b2b_assets.targets.core.plan import payload_hash

TEXT = "string[pyarrow]"


def catalogue(n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = [f"P{i:04d}" for i in range(n)]
    records = pd.DataFrame({
        "record_key": pd.Series(keys, dtype=TEXT),
        "name": pd.Series([None if i % 7 == 0 else f"Prodüct {i % 40} \"q\"" for i in range(n)], dtype=TEXT),
        "price": parse_decimals(pd.Series([None if i % 11 == 0 else f"{i % 97}.{i % 10}5" for i in range(n)],
                                          dtype=TEXT)),
        "stock": pd.Series([i % 5 if i % 13 else None for i in range(n)], dtype="int64[pyarrow]"),
        "active": pd.Series([bool(i % 2) for i in range(n)], dtype="bool[pyarrow]"),
        "_groups": pd.Series([["G1", f"G{i % 3}"] if i % 4 else None for i in range(n)], dtype=object),
    })
    # Runs of 20 records with nested rows and 20 without, so that some batches have none at all.
    parents = [keys[i] for i in range(n) if (i // 20) % 2 == 0 for _ in range(1 + i % 3)]
    children = pd.DataFrame({
        "parent_key": pd.Series(parents, dtype=TEXT),
        "unit": pd.Series([["EA", "BOX", "CTN"][i % 3] for i in range(len(parents))], dtype=TEXT),
        "quantity": parse_decimals(pd.Series([f"{1 + i % 4}" for i in range(len(parents))], dtype=TEXT)),
    })
    return records, children


def hashed_in_batches(records: pd.DataFrame, children: pd.DataFrame, size: int) -> np.ndarray:
    """Hash `records` a key range at a time, each with its own children only, children shuffled."""
    parts = []
    for start in range(0, len(records), size):
        batch = records.iloc[start:start + size].reset_index(drop=True)
        nested = children[children["parent_key"].isin(batch["record_key"])].sample(frac=1.0, random_state=start)
        parts.append(payload_hash(batch, nested.reset_index(drop=True)).to_numpy())
    return np.concatenate(parts)


def test_hashes_are_the_same_in_one_batch_or_many():
    records, children = catalogue()
    whole = payload_hash(records, children).to_numpy()
    assert len(set(whole)) == len(whole)  # every record distinct, so equality below says something
    for size in (7, 64, 299):
        assert (hashed_in_batches(records, children, size) == whole).all(), size


def test_a_changed_value_changes_only_its_record_hash():
    records, children = catalogue()
    before = payload_hash(records, children).to_numpy()
    changed = records.copy()
    changed.loc[5, "price"] = parse_decimals(pd.Series(["1.01"], dtype=TEXT)).iloc[0]
    after = payload_hash(changed, children).to_numpy()
    assert list(np.flatnonzero(before != after)) == [5]


def test_hashes_are_pinned_so_an_upgrade_does_not_resend_everything():
    records, children = catalogue(4)
    assert payload_hash(records, children).tolist() == PINNED


PINNED = [596589515835986452, -4454693071329863146, 2777585005595716421, 8988978090496963643]  # as before this round
