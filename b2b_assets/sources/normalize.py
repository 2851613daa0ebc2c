"""Value normalisation: the many ways exports spell one value, brought to the canonical spelling.

Everything here is a column operation or a lookup over a column's unique
values; a value that cannot be normalised is left as it was so that
validation reports it verbatim.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from b2b_assets.model import Entity, Kind
from b2b_assets.model.decimals import DECIMAL_TYPE, PLAIN_DECIMAL, parse_decimals
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.mapping import Settings
from b2b_assets.sources.value_bytes import column_bytes

TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")
BOOLEAN_WORDS = {**dict.fromkeys(TRUE_WORDS, "true"), **dict.fromkeys(FALSE_WORDS, "false")}

# Status synonyms seen in ERP exports; seed 000 asks for "active"/"inactive" (and "hidden" for locations).
STATUS_WORDS = {
    **dict.fromkeys(("a", "active", "1", "true", "yes", "y", "enabled", "enable", "on"), "active"),
    **dict.fromkeys(("i", "inactive", "0", "false", "no", "n", "disabled", "disable", "off"), "inactive"),
    **dict.fromkeys(("h", "hidden"), "hidden"),
    **dict.fromkeys(("discontinued", "disc", "obsolete", "end of life", "eol"), "discontinued"),
}
# Spellings real exports use that pycountry's names do not cover (or that its fuzzy search gets wrong:
# "Republic of Korea" fuzzily finds the North). A mapping adds its own under `country_aliases`.
COUNTRY_ALIASES = {
    "UK": "GB", "U.K.": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB",
    "USA": "US", "U.S.": "US", "U.S.A.": "US", "UNITED STATES OF AMERICA": "US", "AMERICA": "US", "EL": "GR",
    "RUSSIA": "RU", "TURKEY": "TR", "IVORY COAST": "CI", "MACEDONIA": "MK", "HOLLAND": "NL",
    "THE NETHERLANDS": "NL", "SOUTH KOREA": "KR", "REPUBLIC OF KOREA": "KR", "NORTH KOREA": "KP",
    "CZECHIA": "CZ", "VATICAN": "VA", "LAOS": "LA", "SYRIA": "SY", "TAIWAN": "TW", "UAE": "AE",
}


def normalize(entity: Entity, frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Canonical spellings for every field of `frame` (already trimmed, empty = NA); returns a new frame."""
    out = frame.copy(deep=False)
    for f in entity.fields:
        column = out[f.name]
        if f.kind is Kind.BOOLEAN:
            column = _lookup_lower(column, BOOLEAN_WORDS)
        elif f.kind is Kind.ENUM:
            column = _enum(column, f.choices, is_status=f.name == "status")
        elif f.kind is Kind.COUNTRY:
            aliases = settings.country_aliases
            column = _by_unique(column, lambda v: aliases.get(v.upper()) or country_code(v))
        elif f.kind is Kind.CURRENCY:
            column = column.str.upper()
        elif f.kind is Kind.TIMESTAMP:
            column = utc_timestamps(column)
        default = settings.default_status if f.name == "status" else f.default
        if default is not None:
            column = column.fillna(default)
        out[f.name] = column
    return out


def _lookup_lower(column: pd.Series, words: dict[str, str]) -> pd.Series:
    """`words[value.lower()]` where the lower-cased value is a known word, else the value as it was.

    An enum column holds a handful of spellings in millions of rows: the lookup runs over the
    dictionary of unique values and `take` spreads the answers back, with no per-row Python.
    """
    values = pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())
    if isinstance(values, pa.ChunkedArray):  # one dictionary for the whole column
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    uniques = encoded.dictionary
    lowered = pc.utf8_lower(uniques)
    known = pa.array(list(words), type=pa.string())
    found = pc.take(pa.array(list(words.values()), type=pa.string()), pc.index_in(lowered, value_set=known))
    spelled = pc.take(pc.coalesce(found, uniques), encoded.indices)
    return pd.Series(pd.arrays.ArrowExtensionArray(spelled), index=column.index).astype(TEXT_DTYPE)


def _enum(column: pd.Series, choices: tuple[str, ...], *, is_status: bool) -> pd.Series:
    words = {c.lower(): c for c in choices}
    if is_status:
        words = {**{k: v for k, v in STATUS_WORDS.items() if v in choices}, **words}
    return _lookup_lower(column, words)


def _by_unique(column: pd.Series, convert) -> pd.Series:
    uniques = column.dropna().unique()
    if not len(uniques):
        return column
    return column.map({u: convert(u) for u in uniques}).astype(TEXT_DTYPE)


@lru_cache(maxsize=4096)
def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 for an ISO code, a common or official English name; the input itself when unknown.

    Exact names and codes first, then the alias table, then pycountry's fuzzy search, taken only when it
    finds exactly one country (a guess between several is no answer).
    """
    upper = value.strip().upper()
    if upper in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[upper]
    if len(upper) == 2:
        found = pycountry.countries.get(alpha_2=upper)
        return found.alpha_2 if found else value
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        pass
    try:
        candidates = {c.alpha_2 for c in pycountry.countries.search_fuzzy(value.strip())}
    except LookupError:
        return value
    return candidates.pop() if len(candidates) == 1 else value


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def parse_timestamps(column: pd.Series) -> pd.Series:
    """ISO-8601 text to UTC datetimes (NaT where it does not parse); a missing offset means UTC."""
    return pd.to_datetime(column.astype(object), utc=True, format="ISO8601", errors="coerce")


def format_utc(parsed: pd.Series) -> pd.Series:
    text = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(TEXT_DTYPE)
    return text.str.replace(".000000Z", "Z", regex=False)


def utc_timestamps(column: pd.Series) -> pd.Series:
    parsed = parse_timestamps(column)
    return format_utc(parsed).fillna(column)  # unparseable text stays for validation to report


DECIMAL_PATTERN = PLAIN_DECIMAL
INTEGER_PATTERN = r"[+-]?\d+"


def parse_number(column: pd.Series, *, integer: bool = False) -> pd.Series:
    """Plain-notation numbers parsed in Arrow (pandas' to_numeric is ten times slower); NA where not a number.

    Decimals are exact (model/decimals.py): NA too where a decimal does not fit DECIMAL(38, 10).
    """
    if not integer:
        direct = _digits_as_decimals(column)
        return direct if direct is not None else parse_decimals(column)
    text = pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())
    ok = pc.match_substring_regex(text, f"^{INTEGER_PATTERN}$")
    text = pc.utf8_ltrim(pc.if_else(ok, text, pa.scalar(None, pa.string())), characters="+")  # Arrow refuses "+5"
    return pd.Series(pd.array(pc.cast(text, pa.int64()), dtype="int64[pyarrow]"), index=column.index)


def _digits_as_decimals(column: pd.Series) -> pd.Series | None:
    """The decimals of a column whose every byte is a digit, a point or a minus (what exports write), cast
    without the pattern match (which costs as much as the cast): on such text Arrow's parser accepts exactly
    the plain decimals, and refuses the whole column for any other value ("1.2.3", "-", ".") or one that
    does not fit; then None, and `parse_decimals` takes the long way."""
    text = pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())
    for raw in column_bytes(text):
        # "-" is 0x2D, "." 0x2E, "0".."9" 0x30..0x39: one subtraction puts them in 0..12, "/" (0x2F) at 2.
        if (raw - np.uint8(0x2D) > 12).any() or (raw == 0x2F).any():
            return None
    try:
        parsed = pc.cast(text, DECIMAL_TYPE, safe=True)
    except pa.ArrowInvalid:
        return None
    return pd.Series(pd.arrays.ArrowExtensionArray(parsed), index=column.index)
