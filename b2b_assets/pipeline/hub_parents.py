"""The parent keys a load checks every batch's references against, indexed once per load.

`missing_references` (sources/references.py) says which reference of which row misses and why, but
builds a hash set of the parent's keys on every call: 1M product ids for each 100,000-row batch of
5M prices, fifty times a load. Here each parent's keys are indexed once (store/key_index.KeySet);
a batch looks up its distinct reference values, and only rows whose reference is missing (usually
none) go to `missing_references` for their reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import Entity
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.references import joined_keys
from b2b_assets.store import Store
from b2b_assets.store.key_index import KeySet


class ParentKeys:
    """Each parent entity's keys as the hub held them when the load began (`keys`, joined once, for
    `missing_references`), and the rows of a batch that may miss one of them (`suspects`)."""

    def __init__(self, store: Store, model: Entity) -> None:
        self.model = model
        self.keys: dict[str, pd.Series] = {parent: joined_keys(parent, store.hub.keys(parent))
                                           for parent in dict.fromkeys(ref.entity for ref in model.references)}
        # A reference to the entity itself also accepts keys of the batch, and a list reference holds
        # several keys per value: rows with either are left whole to `missing_references`.
        self._whole = any(ref.entity == model.name or ref.many for ref in model.references)
        self._indexed = {} if self._whole else {parent: KeySet(keys) for parent, keys in self.keys.items()}

    def suspects(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows with a reference that may point at no parent (every row that is not sure to find its own)."""
        if self._whole:
            return np.ones(len(frame), dtype=bool)
        suspect = np.zeros(len(frame), dtype=bool)
        for ref in self.model.references:
            (column,) = ref.columns
            values = pa.array(frame[column].astype(TEXT_DTYPE).array)
            distinct = pc.drop_null(pc.unique(values))
            missing = distinct.filter(pa.array(~self._indexed[ref.entity].isin(distinct)))
            if len(missing):
                suspect |= pc.is_in(values, value_set=missing).fill_null(False).to_numpy(zero_copy_only=False)
        return suspect

    def add_batch(self, frame: pd.DataFrame) -> None:
        """A self-referencing entity's batch has landed: later batches may point at its rows."""
        if self.model.name in self.keys:
            self.keys[self.model.name] = pd.concat([self.keys[self.model.name], joined_keys(self.model.name, frame)],
                                                   ignore_index=True)
