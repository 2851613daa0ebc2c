"""Which rows could fail the input schema, found in Arrow, so that pandera validates only those.

Running every pandera check over every row costs more than the rest of staging
together (each check is a pass over the column, and the numeric ones parse it
again). Almost every row of a real export is valid, and the few that are not
are what the user needs explained. So each column is screened once with the
cheapest test that cannot miss a failure of its checks in `sources/schema.py`
(a byte length for a length limit, a set lookup for an enumeration, one parse
for a number), and the schema runs, unchanged, on the suspect rows alone: it
still decides, and words the reasons. A suspect row that passes is simply valid.

The decimal and integer columns parsed here are kept, so the valid rows are
typed without parsing them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import Entity, Field, Kind
from b2b_assets.model.decimals import INTEGER_DIGITS, SCALE
from b2b_assets.sources.normalize import country_codes, currency_codes, parse_number, parse_timestamps
from b2b_assets.sources.schema import EMAIL_PATTERN


@dataclass
class Screened:
    suspect: np.ndarray  # rows the schema must look at
    numbers: dict[str, pd.Series] = field(default_factory=dict)  # numeric columns parsed (NA where not a number)


def screen(entity: Entity, frame: pd.DataFrame) -> Screened:
    """Rows of `frame` (normalised strings, one column per field) that might fail `input_schema(entity)`."""
    out = Screened(np.zeros(len(frame), dtype=bool))
    for f in entity.fields:
        column = frame[f.name]
        text = _arrow(column)
        present = text.null_count < len(text)
        if f.required and text.null_count:
            out.suspect |= _mask(pc.is_null(text))
        if not present:
            continue
        if f.is_numeric:
            numbers = parse_number(column, integer=f.kind is Kind.INTEGER)
            out.numbers[f.name] = numbers
            failed = _numeric_suspects(f, text, numbers)
        else:
            failed = _other_suspects(f, column, text)
        if failed is not None:
            out.suspect |= failed
    return out


def _numeric_suspects(f: Field, text: pa.Array, numbers: pd.Series) -> np.ndarray:
    """Not a number (the pattern), a decimal whose raw digits exceed the model (the exactness checks can only
    fail then), or out of range (the range checks)."""
    suspect = numbers.isna().to_numpy() & _mask(pc.is_valid(text))
    if f.kind is Kind.DECIMAL:
        length = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
        dot = pc.fill_null(pc.find_substring(text, "."), -1).to_numpy(zero_copy_only=False)
        whole = np.where(dot >= 0, dot, length)
        suspect |= (length - whole - 1 > SCALE) | (whole > INTEGER_DIGITS)
    values = pa.array(numbers.array)
    if f.minimum is not None:
        suspect |= _mask((pc.less_equal if f.exclusive_minimum else pc.less)(values, _bound(f.minimum, values.type)))
    if f.maximum is not None:
        suspect |= _mask(pc.greater(values, _bound(f.maximum, values.type)))
    return suspect


def _bound(limit: float, type_: pa.DataType) -> pa.Scalar:
    """A range limit as a scalar Arrow compares with the parsed column exactly (a decimal with a decimal)."""
    if pa.types.is_decimal(type_):
        return pa.scalar(Decimal(repr(limit)), type=type_)
    return pa.scalar(limit)


def _other_suspects(f: Field, column: pd.Series, text: pa.Array) -> np.ndarray | None:
    if f.kind is Kind.BOOLEAN:
        return _not_in(text, ("true", "false"))
    if f.kind is Kind.TIMESTAMP:
        return (parse_timestamps(column).isna() & column.notna()).to_numpy(dtype=bool)
    if f.kind is Kind.ENUM:
        return _not_in(text, f.choices)
    if f.kind is Kind.COUNTRY:
        return _not_in(text, tuple(country_codes()))
    if f.kind is Kind.CURRENCY:
        return _not_in(text, tuple(currency_codes()))
    suspect = None
    if f.kind is Kind.EMAIL:
        suspect = ~_mask(pc.match_substring_regex(text, f"^(?:{EMAIL_PATTERN})$"))
    if f.max_length is not None:
        # A character is at least one byte: only a value longer in bytes than the limit can be too long.
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
        long = np.diff(offsets) > f.max_length
        suspect = long if suspect is None else suspect | long
    return suspect


def _not_in(text: pa.Array, allowed: tuple[str, ...]) -> np.ndarray:
    found = pc.is_in(text, value_set=pa.array(allowed, type=pa.string()))
    return ~_mask(pc.or_kleene(found, pc.is_null(text)))


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _arrow(column: pd.Series) -> pa.Array:
    text = pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
