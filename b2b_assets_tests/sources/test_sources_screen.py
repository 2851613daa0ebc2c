"""The input schema runs only on the rows a columnar screen could not clear: no bad value may slip past it.

For every entity, a batch whose every column holds the spellings exports get wrong (too long, not a
number, too many decimal places, out of range, not a choice, not a date, empty where required) must be
reported exactly as when the schema validates every row.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from b2b_assets.model import ENTITY_BY_NAME, Kind
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources import Settings, input_schema
from b2b_assets.sources.columns import apply_mapping
from b2b_assets.sources.mapping import default_source
from b2b_assets.sources.normalize import normalize
from b2b_assets.sources.schema import failure_issues
from b2b_assets.sources.validate import FilePreparer, _with_bookkeeping

NASTY = [
    None, "ok", "x" * 51, "é" * 26, "y" * 256, "-1", "0", "100", "100.0000001", "1e5", "1,5", "12%", "+5", "5.",
    ".5", "1.00000000001", "0.00000000001", "1.000000000000", "9" * 30, "abc", "true", "No", "maybe", "active",
    "ACTIVE", "gone", "DE", "Germany", "XX", "EUR", "eur", "EURO", "a@b", "a@b.co", "2024-01-01T10:00:00+02:00",
    "2024-13-01", "yesterday", "A|B",
]
GOOD = {Kind.DECIMAL: "1", Kind.INTEGER: "1", Kind.BOOLEAN: "true", Kind.EMAIL: "a@b.co", Kind.COUNTRY: "DE",
        Kind.CURRENCY: "EUR", Kind.TIMESTAMP: "2024-01-01T00:00:00Z", Kind.LIST: "A"}


def _batch(entity) -> pd.DataFrame:
    """One row per (field, spelling): a valid row with that one field spelled so, each row its own key."""
    rows = []
    for f in entity.fields:
        for value in NASTY:
            row = {g.name: g.choices[0] if g.kind is Kind.ENUM else GOOD.get(g.kind, "ok") for g in entity.fields}
            row.update({k: str(len(rows) + 1) if entity.field(k).is_numeric else f"K{len(rows)}" for k in entity.key})
            row[f.name] = value
            rows.append(row)
    return pd.DataFrame(rows, dtype=TEXT_DTYPE)


# Between them every field kind and range rule: country, decimal with a maximum, email, enumeration, boolean
# (sites); currency and key lists (organizations); an exclusive minimum (quantity prices); a derived key (users).
@pytest.mark.parametrize("name", ["sites", "organizations", "quantity_prices", "users"])
def test_screened_validation_reports_what_full_validation_reports(name):
    entity = ENTITY_BY_NAME[name]
    raw = _batch(entity)

    prepared = FilePreparer(name).prepare(raw.copy())

    values = apply_mapping(entity, _with_bookkeeping(raw.copy()), default_source(name), Settings()).frame
    frame = normalize(entity, FilePreparer(name)._canonical_keys(values), Settings())
    every_row = failure_issues(frame[entity.columns], input_schema(name), values, frame["_source"], frame["_row"])

    expected = set(zip(every_row["row_number"], every_row["field"], every_row["value"].fillna("")))
    reported = set(zip(prepared.issues["row_number"], prepared.issues["field"], prepared.issues["value"].fillna("")))
    assert len({r for r, _, _ in expected}) < len(raw) / 2, "most rows should be valid, or every row is screened"
    assert expected <= reported, sorted(itertools.islice(expected - reported, 10))
    bad_rows = {r for r, _, _ in expected}
    assert not bad_rows & set(prepared.valid["_row"]), "a row the schema refuses reached the valid rows"
