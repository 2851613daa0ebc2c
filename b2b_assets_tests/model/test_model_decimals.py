"""Unit tests of the exact-decimal column functions (model/decimals.py) and SQUIZZ's scale rule."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from b2b_assets.model.decimals import (
    DECIMAL_DTYPE, canonical_text, decimal_places, decimal_text, loses_decimal_places, parse_decimals,
    rounds_to_zero, to_decimals, too_many_integer_digits,
)
from b2b_assets.targets.squizz.limits import check_target_limits
from b2b_assets.targets.squizz.mapping import Payload

TEXTS = ["12.3456789", "0.00001", "99999999999999.99", "-0.5", "+.5", "1.", "007.50", "0",
         "1234567890123456789012345678.1234567891", "1.50000000000000", None]


def text(values) -> pd.Series:
    return pd.Series(values, dtype="string[pyarrow]")


def test_parse_keeps_every_digit():
    parsed = parse_decimals(text(TEXTS))
    assert parsed.dtype == DECIMAL_DTYPE
    assert parsed.tolist()[:-1] == [Decimal(t) for t in TEXTS[:-1]]
    assert pd.isna(parsed.iloc[-1])


def test_values_that_do_not_fit_parse_as_na_and_are_named_by_their_check():
    values = text(["0.00000000001", "1.00000000001", "12345678901234567890123456789", "1,5", "1e3", "0.0000000001"])
    assert parse_decimals(values).isna().tolist() == [True, True, True, True, True, False]
    assert rounds_to_zero(values).tolist() == [True, False, False, False, False, False]
    assert loses_decimal_places(values).tolist() == [True, True, False, False, False, False]
    assert too_many_integer_digits(values).tolist() == [False, False, True, False, False, False]
    # Trailing zeros beyond the scale are not digits lost, also next to a value that does not fit
    # (the column then leaves Arrow's one-cast path).
    assert not loses_decimal_places(text(["2.500000000000000000"])).any()
    padded = text(["0007.50000000000000000000000000000000000", "1.00000000001", "-3"])
    assert parse_decimals(padded).tolist()[::2] == [Decimal("7.5"), Decimal("-3")]


def test_text_forms_are_plain_and_exact():
    values = parse_decimals(text(["0.0000001", "0", "-0.00000012", "100", "12.3456789", "-3.5", None]))
    # Arrow's own cast would write 1.000E-7 and 0E-10.
    assert canonical_text(values).to_pylist() == ["0.0000001000", "0.0000000000", "-0.0000001200", "100.0000000000",
                                                  "12.3456789000", "-3.5000000000", None]
    assert decimal_text(values).tolist() == ["0.0000001", "0", "-0.00000012", "100", "12.3456789", "-3.5", pd.NA]
    assert decimal_places(values).tolist() == [7, 0, 8, 0, 7, 1, pd.NA]


def test_to_decimals_takes_floats_at_their_shortest_spelling_and_text_and_decimal_objects():
    assert to_decimals(pd.Series([12.3456789, 1e-05, None])).tolist()[:2] == [Decimal("12.3456789"),
                                                                              Decimal("0.00001")]
    mixed = pd.Series(["1.25", Decimal("2.5"), 3, None], dtype=object)
    assert to_decimals(mixed).tolist()[:3] == [Decimal("1.25"), Decimal("2.5"), Decimal("3")]
    assert to_decimals(pd.Series([7, 8], dtype="int64[pyarrow]")).tolist() == [Decimal(7), Decimal(8)]


@pytest.mark.parametrize(("price", "reason"), [
    ("0.00001", "price has 5 decimal places; SQUIZZ's DECIMAL 14.4 takes at most 4"),
    ("12.3456789", "price has 7 decimal places; SQUIZZ's DECIMAL 14.4 takes at most 4"),
    ("99999999999999.99", "price does not fit SQUIZZ's DECIMAL 14.4"),
    ("10000000000", "price does not fit SQUIZZ's DECIMAL 14.4"),
])
def test_squizz_refuses_what_its_scale_cannot_hold(price, reason):
    records = pd.DataFrame({"record_key": ["P1"], "keyProductID": ["P1"], "keyPriceLevelID": ["L1"],
                            "keySellUnitID": ["EA"], "price": parse_decimals(text([price]))})
    problems = check_target_limits("price_level_unit_prices", Payload(records))
    assert problems["record_key"].tolist() == ["P1"] and problems["field"].tolist() == ["price"]
    assert reason in problems["reason"].iloc[0]
    assert problems["value"].iloc[0] == price


@pytest.mark.parametrize("price", ["12.3457", "9999999999.9999", "0.0001", "12.30000"])
def test_squizz_takes_what_fits_14_4(price):
    records = pd.DataFrame({"record_key": ["P1"], "keyProductID": ["P1"], "keyPriceLevelID": ["L1"],
                            "keySellUnitID": ["EA"], "price": parse_decimals(text([price]))})
    assert check_target_limits("price_level_unit_prices", Payload(records)).empty


def test_the_squizz_document_writes_decimals_digit_for_digit():
    import gzip
    import json

    from b2b_assets.targets.squizz.envelope import build_document, encode_document

    records = pd.DataFrame({"record_key": ["A", "B", "C"], "price": parse_decimals(text(["12.3456789", "100", "0.0001"]))})
    docs = Payload(records).data_records(records)
    body = gzip.decompress(encode_document(build_document(1, docs, ["price"]))).decode()
    assert '{"price":12.3456789},{"price":100},{"price":0.0001}' in body  # not 12.345678899999999, 1E+2, 1e-04
    assert json.loads(body, parse_float=Decimal)["dataRecords"][0]["price"] == Decimal("12.3456789")
