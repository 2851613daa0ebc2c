"""Row hashes: one signed 64-bit number per canonical record.

The hash is `pd.util.hash_pandas_object(cast_frame(entity, frame), index=False)`
(uint64, over the values of every canonical column in model order, not the
index nor column names; exact decimals as their unscaled 128-bit integers), reinterpreted as int64 so it fits a BigInteger column.
Because it hashes the canonical frame, a record read by any reader, or read
back from the hub, hashes to the same number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2b_assets.model import Entity
from b2b_assets.model.decimals import hashable
from b2b_assets.model.frames import cast_frame


def to_int64(hashes: pd.Series | np.ndarray) -> np.ndarray:
    """uint64 hashes as int64 (same bits), the form stored in BigInteger columns."""
    values = hashes.to_numpy() if isinstance(hashes, pd.Series) else np.asarray(hashes)
    if values.dtype == np.uint64:
        return values.view(np.int64)
    return values.astype(np.int64)


def hash_series(values: pd.Series) -> pd.Series:
    """Hashes in any integer dtype (uint64 from pandas, int64, nullable) as int64[pyarrow], NA kept."""
    dtype = getattr(values.dtype, "numpy_dtype", values.dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "u":
        bits = values.to_numpy(dtype="uint64", na_value=0).view(np.int64)
        return pd.Series(bits, index=values.index, dtype="int64[pyarrow]").mask(values.isna())
    return pd.to_numeric(values).astype("int64[pyarrow]")


def row_hashes(entity: Entity, frame: pd.DataFrame, *, canonical: bool = False) -> pd.Series:
    """int64 hash of each row of the canonical form of `frame`, aligned with its index.

    Pass canonical=True when `frame` already is `cast_frame(entity, frame)`.
    """
    if not canonical:
        frame = cast_frame(entity, frame)
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="int64", name="_row_hash")
    hashes = pd.util.hash_pandas_object(hashable(frame), index=False)
    return pd.Series(to_int64(hashes), index=frame.index, name="_row_hash")
