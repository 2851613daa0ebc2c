"""Exact decimals: money and quantities as Arrow decimal128, parsed and formatted in Arrow.

The model keeps the widest rule any target accepts: DECIMAL(38, 10), i.e. up to
28 digits before the point and 10 after. A target applies its own, narrower
scale when it maps (SQUIZZ: 14.4) and refuses, for that target only, a value it
cannot take unchanged. Nothing is ever rounded: an input that does not fit the
model exactly is quarantined with the reason (the checks in sources/schema.py).

Parsing, checking and formatting are column operations, with no per-value Python
`Decimal` on the hot path (5M prices); only `to_decimals` on floats or mixed
objects (frames built in code) goes value by value.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PRECISION, SCALE = 38, 10
INTEGER_DIGITS = PRECISION - SCALE
DECIMAL_TYPE = pa.decimal128(PRECISION, SCALE)
DECIMAL_DTYPE = pd.ArrowDtype(DECIMAL_TYPE)

PLAIN_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"  # plain notation: no thousands separators, no exponent
# Significant parts of a plain decimal: the whole part without leading zeros, the fraction without trailing ones.
_PARTS = r"^[+-]?0*(?P<whole>\d*)(?:\.(?P<fraction>\d*?)0*)?$"


def _strings(column: pd.Series) -> pa.Array:
    return pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())


def _significant(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(whole digits, fraction digits, leading zeros of the fraction) of each plain decimal, significant only.

    Counted from the text's length and the position of its point, which is cheap; only a value
    whose raw counts exceed the model (a long fraction, perhaps of trailing zeros) is looked at
    with a regular expression. Zeros where the text is not a plain decimal (its own check reports it).
    """
    whole, fraction = _raw_counts(text)
    leading = np.zeros(len(text), dtype=np.int64)
    suspect = np.flatnonzero(_exceeds(whole, fraction))
    if len(suspect):
        exact = pc.extract_regex(text.take(pa.array(suspect)), _PARTS)  # null where not plain
        whole_digits, fraction_digits = pc.struct_field(exact, "whole"), pc.struct_field(exact, "fraction")
        whole[suspect] = pc.fill_null(pc.utf8_length(whole_digits), 0).to_numpy(zero_copy_only=False)
        fraction[suspect] = pc.fill_null(pc.utf8_length(fraction_digits), 0).to_numpy(zero_copy_only=False)
        unpadded = pc.utf8_length(pc.utf8_ltrim(fraction_digits, characters="0"))
        leading[suspect] = pc.fill_null(pc.subtract(pc.utf8_length(fraction_digits), unpadded), 0).to_numpy(
            zero_copy_only=False)
    return whole, fraction, leading


def too_many_integer_digits(column: pd.Series) -> pd.Series:
    """True where a plain decimal has more than INTEGER_DIGITS significant digits before the point."""
    whole, _, _ = _significant(_strings(column))
    return pd.Series(whole > INTEGER_DIGITS, index=column.index)


def rounds_to_zero(column: pd.Series) -> pd.Series:
    """True where a non-zero plain decimal has no significant digit within SCALE places (0.00000000001)."""
    whole, fraction, leading = _significant(_strings(column))
    return pd.Series((whole == 0) & (leading >= SCALE) & (fraction > SCALE), index=column.index)


def loses_decimal_places(column: pd.Series) -> pd.Series:
    """True where a plain decimal has significant digits beyond SCALE places (trailing zeros do not count)."""
    _, fraction, _ = _significant(_strings(column))
    return pd.Series(fraction > SCALE, index=column.index)


def parse_decimals(column: pd.Series) -> pd.Series:
    """Plain decimal text -> exact DECIMAL_DTYPE; NA where the text is not a plain decimal or does not fit."""
    text = _strings(column)
    plain = pc.match_substring_regex(text, f"^{PLAIN_DECIMAL}$")
    text = pc.utf8_ltrim(pc.if_else(plain, text, pa.scalar(None, pa.string())), characters="+")  # Arrow refuses "+5"
    try:
        parsed = pc.cast(text, DECIMAL_TYPE, safe=True)  # refuses the whole column if one value would lose digits
    except pa.ArrowInvalid:
        parsed = _parse_fitting(text)
    return pd.Series(pd.arrays.ArrowExtensionArray(parsed), index=column.index)


def _parse_fitting(text: pa.Array) -> pa.Array:
    """The slow path of parse_decimals, for a column with a value that does not fit: that value becomes
    null; one whose raw text is long (0007.5000000000000, which Arrow's 38-digit parser refuses) is
    rebuilt from its significant digits; every other value takes Arrow's cast."""
    whole, fraction, _ = _significant(text)
    long = _raw_long(text)
    fits = (whole <= INTEGER_DIGITS) & (fraction <= SCALE)
    null = pa.scalar(None, pa.string())
    parsed = pc.cast(pc.if_else(pa.array(fits & ~long), text, null), DECIMAL_TYPE, safe=True)
    rebuild = np.flatnonzero(fits & long)
    if not len(rebuild):
        return parsed
    subset = text.take(pa.array(rebuild))
    exact = pc.extract_regex(subset, _PARTS)
    whole_digits, fraction_digits = pc.struct_field(exact, "whole"), pc.struct_field(exact, "fraction")
    sign = pc.if_else(pc.starts_with(subset, "-"), "-", "")
    digits = pc.binary_join_element_wise(sign, pc.if_else(pc.equal(whole_digits, ""), "0", whole_digits), ".",
                                         pc.if_else(pc.equal(fraction_digits, ""), "0", fraction_digits), "")
    mask = np.zeros(len(text), dtype=bool)
    mask[rebuild] = True
    return pc.replace_with_mask(parsed, pa.array(mask), pc.cast(digits, DECIMAL_TYPE, safe=True))


def _raw_counts(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(characters before the point, characters after it) of each text: sign and padding count."""
    length = pc.fill_null(pc.utf8_length(text), 0)
    dot = pc.fill_null(pc.find_substring(text, "."), -1)
    has_dot = pc.greater_equal(dot, 0)
    whole = pc.if_else(has_dot, dot, length).to_numpy(zero_copy_only=False).astype(np.int64)
    fraction = pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0).to_numpy(zero_copy_only=False)
    return whole, fraction.astype(np.int64)


def _exceeds(whole: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    return (fraction > SCALE) | (whole > INTEGER_DIGITS)


def _raw_long(text: pa.Array) -> np.ndarray:
    """Values whose raw text has more places or integer characters than the model."""
    return _exceeds(*_raw_counts(text))


def to_decimals(column: pd.Series) -> pd.Series:
    """Any column of numbers (decimal, integer, float, text, Decimal or str objects) as DECIMAL_DTYPE.

    For values already valid (hub reads, held payloads, frames built in code): text is parsed
    exactly; floats are taken at their shortest round-trip spelling, so 12.3456789 stays 12.3456789.
    """
    if column.dtype == DECIMAL_DTYPE:
        return column
    if isinstance(column.dtype, pd.StringDtype):
        return parse_decimals(column)
    values = column.array
    if isinstance(column.dtype, pd.ArrowDtype) and not pa.types.is_floating(column.dtype.pyarrow_dtype):
        array = pa.array(values)
    else:
        try:
            array = pa.array(column.to_numpy(dtype=object, na_value=None), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed str and numbers
            array = pa.array([None if pd.isna(v) else str(v) for v in column], type=pa.string())
    if pa.types.is_floating(array.type):
        # Arrow's float->decimal cast takes the binary value (12.345678899999999...); repr is what was meant.
        array = pa.array([None if v is None else format(Decimal(repr(v)), "f") for v in array.to_pylist()],
                         type=pa.string())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_null(array.type):
        return parse_decimals(pd.Series(pd.arrays.ArrowExtensionArray(array.cast(pa.string())), index=column.index))
    return pd.Series(pd.arrays.ArrowExtensionArray(pc.cast(array, DECIMAL_TYPE, safe=True)), index=column.index)


def canonical_text(column: pd.Series) -> pa.Array:
    """DECIMAL_DTYPE values as fixed-scale plain text ("12.3456789000"): one spelling per value.

    Arrow's own decimal->string cast writes values below 1e-6 in scientific notation (1.000E-7,
    and zero as 0E-10), which neither SQL nor a person expects: those few are redone by
    formatting the whole part and the fraction separately, each where Arrow writes plain digits.
    """
    values = pc.cast(pa.array(column.array) if len(column) else pa.array([], type=DECIMAL_TYPE), DECIMAL_TYPE)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    text = pc.cast(values, pa.string())
    scientific = pc.fill_null(pc.match_substring(text, "E"), False)
    at = np.flatnonzero(scientific.to_numpy(zero_copy_only=False))
    if not len(at):
        return text
    plain = _plain_text(values.take(pa.array(at)))
    return pc.replace_with_mask(text, scientific, plain)


def _plain_text(values: pa.Array) -> pa.Array:
    whole = pc.round(values, 0, round_mode="towards_zero")
    whole_text = pc.utf8_ltrim(pc.cast(pc.cast(whole, pa.decimal128(PRECISION, 0)), pa.string()), characters="-")
    wide = pa.decimal256(PRECISION, SCALE)  # decimal128 arithmetic would need precision 39
    fraction = pc.cast(pc.abs(pc.subtract(pc.cast(values, wide), pc.cast(whole, wide))), pa.decimal128(SCALE + 1, SCALE))
    one_point = pc.add(fraction, pa.scalar(1, pa.decimal128(1, 0)))  # 1.xxxxxxxxxx: always plain text
    fraction_text = pc.utf8_slice_codeunits(pc.cast(one_point, pa.string()), 2)
    sign = pc.if_else(pc.less(values, pa.scalar(0, pa.decimal128(1, 0))), "-", "")
    return pc.binary_join_element_wise(sign, whole_text, ".", fraction_text, "")


def hash_parts(column: pd.Series) -> pd.DataFrame:
    """DECIMAL_DTYPE values as the two int64 halves of their unscaled 128-bit integer (NA kept).

    At a fixed scale the unscaled integer is the value, exactly: hashing these is exact and stable,
    and a hundred times faster than hashing Decimal objects or text.
    """
    values = pa.array(column.array) if len(column) else pa.array([], type=DECIMAL_TYPE)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.cast(values, DECIMAL_TYPE)
    halves = np.frombuffer(values.buffers()[1], dtype=np.int64, count=2 * len(values), offset=values.offset * 16)
    halves = halves.reshape(-1, 2)
    missing = column.isna().to_numpy()
    low = pd.array(halves[:, 0], dtype="Int64")
    high = pd.array(halves[:, 1], dtype="Int64")
    low[missing], high[missing] = pd.NA, pd.NA
    return pd.DataFrame({"low": low, "high": high}, index=column.index)


def hashable(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each DECIMAL_DTYPE column replaced by its `hash_parts`, for pandas' row hashing."""
    decimals = [c for c in frame.columns if frame[c].dtype == DECIMAL_DTYPE]
    if not decimals:
        return frame
    columns = {}
    for name in frame.columns:
        if name in decimals:
            parts = hash_parts(frame[name])
            columns[f"{name}.low"], columns[f"{name}.high"] = parts["low"], parts["high"]
        else:
            columns[name] = frame[name]
    return pd.DataFrame(columns, index=frame.index)


def decimal_text(column: pd.Series) -> pd.Series:
    """DECIMAL_DTYPE values as their shortest exact text ("12.3456789", "100", "0"), as a string column."""
    # canonical_text always has a fraction, so trailing zeros then a bare point go; trims are 10x a regex.
    short = pc.ascii_rtrim(pc.ascii_rtrim(canonical_text(column), "0"), ".")
    return pd.Series(pd.arrays.ArrowExtensionArray(short), index=column.index).astype(pd.StringDtype("pyarrow"))


def decimal_places(column: pd.Series) -> pd.Series:
    """Significant decimal places of each DECIMAL_DTYPE value (12.3400000000 -> 2), NA kept."""
    fraction = pc.struct_field(pc.extract_regex(canonical_text(column), r"\.(?P<fraction>\d*?)0*$"), "fraction")
    return pd.Series(pd.arrays.ArrowExtensionArray(pc.utf8_length(fraction)), index=column.index)
