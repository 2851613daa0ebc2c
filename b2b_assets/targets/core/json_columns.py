"""JSON objects written column by column, in Arrow, with no Python object per record.

A vendor document's records are a frame (one column per member, NA meaning
"leave the member out"); this writes each row as one JSON object text, so a
batch of 5,000 records costs a few Arrow kernels per column instead of 5,000
dicts for a JSON encoder to walk. The text is what `simplejson.dumps(...,
separators=(",", ":"), ensure_ascii=False, use_decimal=True)` writes for the
same records (the encoder the envelopes used before), byte for byte: members in
column order, strings escaped the same way (quote, backslash and the control
characters; everything else as UTF-8), exact decimals digit for digit in their
shortest spelling. The one difference: a decimal under 1e-6 is written plainly
(0.0000001) where `str(Decimal)` writes 1E-7; both are the same exact number.

Supported columns: text, exact decimals (`model.decimals`), integers,
booleans, and lists of text (an object column of Python lists, or an Arrow list
column). Anything else is refused rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.decimals import DECIMAL_DTYPE, decimal_text

# simplejson's short escapes; every other control character is written \u00XX.
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


@dataclass(frozen=True)
class JsonArray:
    """A JSON array already written: its `count` values, comma-separated, as UTF-8 bytes in `members`.

    Kept as the Arrow buffer the values were joined into, so a document is spliced and compressed
    from it (`chunks`) without ever becoming a Python string.
    """

    members: pa.Buffer
    count: int

    def __len__(self) -> int:
        return self.count

    def chunks(self) -> tuple[bytes, memoryview, bytes]:
        """The array's UTF-8 text in pieces: "[", the members (no copy), "]"."""
        return b"[", memoryview(self.members), b"]"

    @property
    def text(self) -> str:
        return "[" + self.members.to_pybytes().decode("utf-8") + "]"


def json_array(objects: pa.Array) -> JsonArray:
    """The JSON array of these JSON texts (one value each)."""
    one_list = pa.LargeListArray.from_arrays(pa.array([0, len(objects)], pa.int64()), objects.cast(pa.large_string()))
    return JsonArray(pc.binary_join(one_list, _text(","))[0].as_buffer(), len(objects))


def json_objects(frame: pd.DataFrame, extra: dict[str, pa.Array] | None = None) -> pa.Array:
    """One JSON object text per row of `frame`: its non-NA members in column order.

    extra: members already written as JSON texts (a nested array), one per row, appended after the
    columns and never left out.
    """
    members = [_member(name, _json_values(frame[name])) for name in frame.columns]
    members += [_member(name, values) for name, values in (extra or {}).items()]
    if not members:
        return pa.array(["{}"] * len(frame), pa.large_string())
    # Each member carries its leading comma (empty where NA), so joining needs no separator and NA leaves
    # no gap; the first comma is cut off.
    joined = _concat(*members) if len(members) > 1 else members[0]
    # The comma is one byte: replacing that byte is cheaper than slicing UTF-8 characters.
    return _concat(pc.binary_replace_slice(joined, 0, 1, "{"), _text("}"))


def nested_arrays(objects: pa.Array, lengths: np.ndarray) -> pa.Array:
    """JSON array texts, one per owner: the owner's `lengths[i]` consecutive texts of `objects`, "[]" for none."""
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), objects.cast(pa.large_string()))
    return _concat(_text("["), pc.binary_join(lists, _text(",")), _text("]"))


def _member(name: str, values: pa.Array) -> pa.Array:
    """`,"name":value` per row, the empty string where the value is NA."""
    prefix = "," + _quoted_text(name) + ":"
    return pc.fill_null(_concat(_text(prefix), values.cast(pa.large_string())), _text(""))


def _json_values(column: pd.Series) -> pa.Array:
    """Each value of `column` as its JSON text, null where NA."""
    if column.dtype == DECIMAL_DTYPE:
        return _arrow(decimal_text(column))
    if column.dtype == object:
        return _text_lists(column)
    values = _arrow(column)
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _quoted(values)
    if pa.types.is_integer(kind):
        return pc.cast(values, pa.large_string())
    if pa.types.is_boolean(kind):
        return pc.if_else(values, _text("true"), _text("false"))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _lists(values)
    raise TypeError(f"json_columns cannot write {column.name!r} of type {column.dtype}")


def _arrow(column: pd.Series) -> pa.Array:
    values = pa.array(column.array, from_pandas=True) if len(column) else pa.array(
        [], type=_empty_type(column))
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _empty_type(column: pd.Series) -> pa.DataType:
    return column.dtype.pyarrow_dtype if isinstance(column.dtype, pd.ArrowDtype) else pa.large_string()


def _text_lists(column: pd.Series) -> pa.Array:
    """An object column of Python lists of text (None where NA) as JSON arrays of strings."""
    return _lists(pa.array(column.to_numpy(dtype=object), type=pa.list_(pa.large_string()), from_pandas=True))


def _lists(lists: pa.Array) -> pa.Array:
    flat = _quoted(pc.cast(pc.list_flatten(lists), pa.large_string()))
    offsets = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    written = nested_arrays(flat, offsets)
    return pc.if_else(pc.is_null(lists), pa.scalar(None, pa.large_string()), written)


def _quoted(values: pa.Array) -> pa.Array:
    escaped = values.cast(pa.large_string())
    # Most columns hold nothing to escape: one look at their bytes spares the replacement kernels.
    if _holds(escaped, lambda data: (data == ord("\\")) | (data == ord('"'))):
        escaped = pc.replace_substring(pc.replace_substring(escaped, "\\", "\\\\"), '"', '\\"')
    if _holds(escaped, lambda data: data < 0x20):
        escaped = _escape_controls(escaped)
    return _concat(_text('"'), escaped, _text('"'))


def _holds(values: pa.Array, wanted) -> bool:
    """Whether `wanted` (bytes -> mask) finds a byte in any value, read straight from the UTF-8 data buffer."""
    _, offsets, data = values.buffers()
    if data is None or not len(values):
        return False
    bounds = np.frombuffer(offsets, dtype=np.int64)[[values.offset, values.offset + len(values)]]
    return bool(wanted(np.frombuffer(data, dtype=np.uint8)[bounds[0]:bounds[1]]).any())


def _escape_controls(values: pa.Array) -> pa.Array:
    # Rare (a tab or newline in a description), so one replacement per control character is cheap enough.
    for code in range(0x20):
        char = chr(code)
        values = pc.replace_substring(values, char, _SHORT_ESCAPES.get(char, f"\\u{code:04x}"))
    return values


def _text(literal: str) -> pa.Scalar:
    return pa.scalar(literal, pa.large_string())


def _concat(*parts: pa.Array | pa.Scalar) -> pa.Array:
    return pc.binary_join_element_wise(*parts, _text(""))


def _quoted_text(text: str) -> str:
    return _quoted(pa.array([text], pa.large_string()))[0].as_py()
