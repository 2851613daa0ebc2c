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


def _parts(column: pd.Series) -> tuple[pa.Array, pa.Array]:
    """(whole digits, fraction digits) of each plain decimal as significant-digit strings; null if not plain."""
    text = _strings(column)
    plain = pc.match_substring_regex(text, f"^{PLAIN_DECIMAL}$")
    parts = pc.extract_regex(pc.if_else(plain, text, pa.scalar(None, pa.string())), _PARTS)
    return pc.struct_field(parts, "whole"), pc.struct_field(parts, "fraction")


def _series(mask: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), index=index)


def too_many_integer_digits(column: pd.Series) -> pd.Series:
    """True where a plain decimal has more than INTEGER_DIGITS significant digits before the point."""
    whole, _ = _parts(column)
    return _series(pc.greater(pc.utf8_length(whole), INTEGER_DIGITS), column.index)


def rounds_to_zero(column: pd.Series) -> pd.Series:
    """True where a non-zero plain decimal has no significant digit within SCALE places (0.00000000001)."""
    whole, fraction = _parts(column)
    leading_zeros = pc.subtract(pc.utf8_length(fraction), pc.utf8_length(pc.utf8_ltrim(fraction, characters="0")))
    tiny = pc.and_(pc.equal(pc.utf8_length(whole), 0), pc.greater_equal(leading_zeros, SCALE))
    return _series(pc.and_(tiny, pc.greater(pc.utf8_length(fraction), SCALE)), column.index)


def loses_decimal_places(column: pd.Series) -> pd.Series:
    """True where a plain decimal has significant digits beyond SCALE places (trailing zeros do not count)."""
    _, fraction = _parts(column)
    return _series(pc.greater(pc.utf8_length(fraction), SCALE), column.index)


def parse_decimals(column: pd.Series) -> pd.Series:
    """Plain decimal text -> exact DECIMAL_DTYPE; NA where the text is not a plain decimal or does not fit."""
    whole, fraction = _parts(column)
    fits = pc.and_(pc.less_equal(pc.utf8_length(whole), INTEGER_DIGITS), pc.less_equal(pc.utf8_length(fraction), SCALE))
    # Rebuilt from the significant digits, so 0007.5000000000000 does not exceed Arrow's 38-digit parser.
    sign = pc.if_else(pc.starts_with(_strings(column), "-"), "-", "")
    digits = pc.binary_join_element_wise(sign, pc.if_else(pc.equal(whole, ""), "0", whole), ".",
                                         pc.if_else(pc.equal(fraction, ""), "0", fraction), "")
    digits = pc.if_else(pc.fill_null(fits, False), digits, pa.scalar(None, pa.string()))
    return pd.Series(pd.arrays.ArrowExtensionArray(pc.cast(digits, DECIMAL_TYPE, safe=True)), index=column.index)


def to_decimals(column: pd.Series) -> pd.Series:
    """Any column of numbers (decimal, integer, float, text, Decimal or str objects) as DECIMAL_DTYPE.

    For values already valid (hub reads, held payloads, frames built in code): text is parsed
    exactly; floats are taken at their shortest round-trip spelling, so 12.3456789 stays 12.3456789.
    """
    if column.dtype == DECIMAL_DTYPE:
        return column
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

    Arrow's own decimal->string cast writes small values in scientific notation (1.000E-7,
    0E-10), which neither SQL nor a person expects: the whole part and the fraction are
    formatted separately, each in a range where Arrow writes plain digits.
    """
    values = pa.array(column.array) if len(column) else pa.array([], type=DECIMAL_TYPE)
    values = pc.cast(values, DECIMAL_TYPE)
    whole = pc.round(values, 0, round_mode="towards_zero")
    whole_text = pc.utf8_ltrim(pc.cast(pc.cast(whole, pa.decimal128(PRECISION, 0)), pa.string()), characters="-")
    wide = pa.decimal256(PRECISION, SCALE)  # decimal128 arithmetic would need precision 39
    fraction = pc.cast(pc.abs(pc.subtract(pc.cast(values, wide), pc.cast(whole, wide))), pa.decimal128(SCALE + 1, SCALE))
    one_point = pc.add(fraction, pa.scalar(1, pa.decimal128(1, 0)))  # 1.xxxxxxxxxx: always plain text
    fraction_text = pc.utf8_slice_codeunits(pc.cast(one_point, pa.string()), 2)
    sign = pc.if_else(pc.less(values, pa.scalar(0, pa.decimal128(1, 0))), "-", "")
    return pc.binary_join_element_wise(sign, whole_text, ".", fraction_text, "")


def decimal_text(column: pd.Series) -> pd.Series:
    """DECIMAL_DTYPE values as their shortest exact text ("12.3456789", "100", "0"), as a string column."""
    short = pc.replace_substring_regex(canonical_text(column), pattern=r"\.?0+$", replacement="")
    return pd.Series(pd.arrays.ArrowExtensionArray(short), index=column.index).astype(pd.StringDtype("pyarrow"))


def decimal_places(column: pd.Series) -> pd.Series:
    """Significant decimal places of each DECIMAL_DTYPE value (12.3400000000 -> 2), NA kept."""
    fraction = pc.struct_field(pc.extract_regex(canonical_text(column), r"\.(?P<fraction>\d*?)0*$"), "fraction")
    return pd.Series(pd.arrays.ArrowExtensionArray(pc.utf8_length(fraction)), index=column.index)
