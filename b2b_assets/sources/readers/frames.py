"""Turning parsed values into the readers' output: frames of strings plus `_source` and `_row`."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import simplejson

from b2b_assets.model.frames import TEXT_DTYPE

SOURCE_COLUMN = "_source"
ROW_COLUMN = "_row"
ROW_DTYPE = "int64[pyarrow]"


def _string_dtype(arrow_type: pa.DataType):
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return TEXT_DTYPE
    return None


def arrow_to_frame(table: pa.Table, source: str, rows) -> pd.DataFrame:
    """An all-string Arrow table as pandas strings (NA for null), with the bookkeeping columns."""
    frame = table.to_pandas(types_mapper=_string_dtype)
    return with_bookkeeping(frame, source, rows)


def with_bookkeeping(frame: pd.DataFrame, source: str, rows) -> pd.DataFrame:
    frame[SOURCE_COLUMN] = pd.Series(pd.array(repeated(source, len(frame)), dtype=TEXT_DTYPE), index=frame.index)
    frame[ROW_COLUMN] = pd.array(rows, dtype=ROW_DTYPE)
    return frame


def repeated(text: str, count: int) -> pa.Array:
    """`text` `count` times as an Arrow string array, built from its buffers (no Python string per row)."""
    data = text.encode("utf-8")
    offsets = np.arange(count + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data * count))


def records_to_frame(records: list[dict], rows: list[int], source: str) -> pd.DataFrame:
    """JSON objects as a frame of strings: scalars as text, nested values as JSON text, "" as NA."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(index=range(0))
    frame.columns = [str(c) for c in frame.columns]
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
            column = column.map(json_value_to_text, na_action="ignore")
        column = column.astype(TEXT_DTYPE)
        out[name] = column.mask(column.str.len() == 0)
    return with_bookkeeping(pd.DataFrame(out, index=frame.index), source, rows)


def json_value_to_text(value: object) -> str | None:
    """One JSON value as the text a CSV export would have held."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):  # the readers parse JSON numbers as Decimal: digits as written
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    return simplejson.dumps(value, ensure_ascii=False, separators=(",", ":"), use_decimal=True)
