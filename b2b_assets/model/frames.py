"""Canonical DataFrame layout: the pandas dtype of each field kind.

Every stage exchanges pyarrow-backed pandas frames with these dtypes, so a
value hashed by the hub and a value hashed by a target's planner are the same
bytes whichever reader produced them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.decimals import DECIMAL_DTYPE, to_decimals
from b2b_assets.model.entity import Entity
from b2b_assets.model.fields import Field, Kind

_DTYPES: dict[Kind, str | pd.ArrowDtype] = {
    Kind.DECIMAL: DECIMAL_DTYPE,  # exact: see model/decimals.py
    Kind.INTEGER: "int64[pyarrow]",
    Kind.BOOLEAN: "bool[pyarrow]",
}
TEXT_DTYPE = pd.StringDtype("pyarrow")


def dtype_of(field: Field) -> str | pd.StringDtype | pd.ArrowDtype:
    return _DTYPES.get(field.kind, TEXT_DTYPE)


def empty_frame(entity: Entity) -> pd.DataFrame:
    return pd.DataFrame({f.name: pd.Series([], dtype=dtype_of(f)) for f in entity.fields})


def cast_frame(entity: Entity, frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` restricted to the entity's columns, in model order, with model dtypes.

    Values must already be valid (this is not validation): text stays text,
    decimals stay exact (never rounded), missing columns become all-NA.
    Empty strings become NA so "empty" and "absent" are one state.
    """
    out: dict[str, pd.Series] = {}
    for f in entity.fields:
        if f.name in frame.columns:
            column = frame[f.name]
        else:
            column = pd.Series(pd.NA, index=frame.index, dtype=object)
        dtype = dtype_of(f)
        if dtype is TEXT_DTYPE:
            column = column.astype(TEXT_DTYPE)
            if _has_empty_text(column):
                column = column.mask(column.str.len() == 0)
        elif f.kind is Kind.DECIMAL:
            column = to_decimals(column)
        else:
            column = column.astype(dtype)
        out[f.name] = column
    return pd.DataFrame(out, index=frame.index)


def _has_empty_text(column: pd.Series) -> bool:
    """Whether a text column holds an empty string (one Arrow pass; most hold none, and masking costs more)."""
    text = pa.array(column.array)
    return bool(len(text)) and bool(pc.any(pc.equal(pc.binary_length(text), 0)).as_py())


def key_isin(values: pd.Series | pd.Index, known: pd.Series | pd.Index) -> np.ndarray:
    """Which of `values` are among `known`, for text keys, as a numpy bool array.

    pandas' own isin on pyarrow strings takes a slow path (seconds for 100k
    values against a million keys); pyarrow's hash-set lookup is about 20x faster.
    """
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    if len(known) == 0:
        return np.zeros(len(values), dtype=bool)
    probe = pa.array(pd.Series(values).astype(TEXT_DTYPE).array)
    value_set = pa.array(pd.Series(known).astype(TEXT_DTYPE).array)
    found = pc.is_in(probe, value_set=value_set, skip_nulls=True)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def key_positions(values: pd.Series | pd.Index, known: pd.Series | pd.Index) -> np.ndarray:
    """Where each of `values` is in `known` (the first place, if it is there more than once), -1 where it is not.

    A hash lookup in Arrow, like `key_isin`, for joining a frame to another by text key without an index
    (pandas' Index.map on pyarrow strings is the slow path again).
    """
    if len(values) == 0 or len(known) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    probe = pa.array(pd.Series(values).astype(TEXT_DTYPE).array)
    value_set = pa.array(pd.Series(known).astype(TEXT_DTYPE).array)
    return pc.index_in(probe, value_set=value_set, skip_nulls=True).fill_null(-1).to_numpy(
        zero_copy_only=False).astype(np.int64)
