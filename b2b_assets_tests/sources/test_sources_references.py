"""missing_references (for the hub) and schema_for (for the asset checks)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.sources import missing_references, prepare, schema_for

S = "string[pyarrow]"


def keys(**columns) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype=S) for k, v in columns.items()})


def test_single_optional_and_list_references():
    orgs = cast_frame(entity("organizations"), pd.DataFrame({
        "organization_number": ["C-1", "C-2", "C-3"], "organization_name": ["a", "b", "c"],
        "price_level_id": ["RETAIL", None, "GHOST"],
        "payment_type_ids": ["CARD|ACCT", None, "CARD|NOPE|ZILCH"],
    }, index=[10, 11, 12]))
    found = missing_references("organizations", orgs, {
        "price_levels": keys(price_level_id=["RETAIL"]),
        "payment_types": keys(payment_type_id=["CARD", "ACCT"]),
    })
    got = sorted(zip(found["row"], found["reference"], found["missing_value"], found["on_missing"]))
    assert got == [(12, "payment_type_ids->payment_types", "NOPE", "warn"),
                   (12, "payment_type_ids->payment_types", "ZILCH", "warn"),
                   (12, "price_level_id->price_levels", "GHOST", "warn")]  # empty references are absent, not missing


def test_required_reference_and_self_reference():
    units = cast_frame(entity("sell_units"), pd.DataFrame({
        "sell_unit_id": ["EA", "BOX", "PAL"], "parent_sell_unit_id": [None, "EA", "CRATE"]}))
    found = missing_references("sell_units", units, {"sell_units": keys(sell_unit_id=[])})
    assert found[["row", "missing_value"]].values.tolist() == [[2, "CRATE"]]  # EA is in the same frame

    locations = cast_frame(entity("locations"), pd.DataFrame({
        "organization_number": ["C-1", "C-9"], "location_id": ["L-1", "L-2"]}))
    found = missing_references("locations", locations, {"organizations": keys(organization_number=["C-1"])})
    assert found[["row", "missing_value", "on_missing"]].values.tolist() == [[1, "C-9", "hold"]]


def test_unlisted_entities_are_not_checked():
    locations = cast_frame(entity("locations"), pd.DataFrame({"organization_number": ["C-9"], "location_id": ["L"]}))
    assert missing_references("locations", locations, {}).empty


def test_schema_for_accepts_prepared_output_and_rejects_bad_frames():
    raw = pd.DataFrame({"organization_number": ["C-1"], "organization_name": ["A"], "discount_percent": ["5"]},
                       dtype=S)
    prepared = prepare("organizations", raw)
    schema_for("organizations").validate(prepared.valid, lazy=True)

    bad = prepared.valid.copy()
    bad["discount_percent"] = pd.array([150.0], dtype="float64[pyarrow]")
    bad["status"] = pd.array(["paused"], dtype=S)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema_for("organizations").validate(bad, lazy=True)
    failed = set(caught.value.failure_cases["column"])
    assert failed == {"discount_percent", "status"}


def test_prepare_on_a_hand_built_frame_numbers_rows():
    raw = pd.DataFrame({"organization_number": ["C-1", "C-1"], "organization_name": ["A", "B"]}, dtype=S)
    prepared = prepare("organizations", raw)
    assert prepared.issues["row_number"].tolist() == [2] and prepared.rows_quarantined == 1
