"""The bytes of a string column's values, for the byte scans that prove the common case before any regex runs.

A batch is a slice of the reader's 4 MB blocks, and a slice's data buffer is the
whole block's: scanning the buffer would read every batch's bytes once per batch.
Only the bytes between the slice's first and last offsets belong to its values.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa


def value_bytes(chunk: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of `chunk`'s values, end to end, as a uint8 view (no copy); empty when it has none."""
    offsets, data = _offsets_and_data(chunk)
    return data[offsets[0]:offsets[-1]] if len(offsets) else data


def edge_bytes(chunk: pa.Array) -> np.ndarray:
    """The first and the last byte of each non-empty value of `chunk` (what surrounding whitespace would be)."""
    offsets, data = _offsets_and_data(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    return np.concatenate([data[starts[filled]], data[ends[filled] - 1]])


def _offsets_and_data(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    offsets_buffer, data = chunk.buffers()[1:3]
    if data is None or not len(chunk):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type, count=len(chunk) + 1, offset=chunk.offset
                            * np.dtype(offset_type).itemsize)
    return offsets, np.frombuffer(data, dtype=np.uint8)


def column_bytes(text: pa.Array | pa.ChunkedArray) -> Iterator[np.ndarray]:
    """`value_bytes` of each chunk of a string array or chunked array."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        yield value_bytes(chunk)
