"""Held references: a record is held while any record it references is missing at the target."""

from __future__ import annotations

import pandas as pd

from b2b_assets.targets.core.contract import Reference
from b2b_assets.targets.core.references import held_reasons


def test_a_record_missing_two_references_is_held_with_both_counted():
    records = pd.DataFrame({"record_key": ["P1", "P2"], "tax": ["GST", "GST"], "unit": ["EA", "BOX"]})
    refs = (Reference("tax", "taxcodes"), Reference("unit", "sell_units"))
    known = {"taxcodes": pd.Index([], dtype="string"), "sell_units": pd.Index(["BOX"], dtype="string")}
    reasons = held_reasons(records, None, refs, known)
    assert reasons.notna().all() and set(reasons.index) == {"P1", "P2"}
    assert reasons["P1"] == "tax 'GST' is not yet at the target's taxcodes (and 1 more)"
    assert reasons["P2"] == "tax 'GST' is not yet at the target's taxcodes"
