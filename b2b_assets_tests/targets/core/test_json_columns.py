"""The columnar JSON writer against the encoder the vendor documents were written with before (simplejson)."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pandas as pd
import pytest
import simplejson

from b2b_assets.model.decimals import parse_decimals
from b2b_assets.targets.core.json_columns import json_array, json_objects
from b2b_assets.targets.squizz.envelope import build_document, encode_document
from b2b_assets.targets.squizz.mapping import Payload

TEXT = "string[pyarrow]"


def dumps(value) -> str:
    """How the envelopes wrote records before: one dict per record, NA left out."""
    return simplejson.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, use_decimal=True)


def text(values) -> pd.Series:
    return pd.Series(values, dtype=TEXT)


TRICKY_TEXT = ['plain', 'quote " and backslash \\', "tab\tnew\nline\rcr\x00nul\x1funit\x0bvt\x08bs\x0cff",
               "unicode é € 😀 \u2028 \u2029 \x7f", None, "", "/slash/ </script>"]


def test_tricky_text_decimals_integers_and_na_are_written_as_simplejson_writes_them():
    n = len(TRICKY_TEXT)
    prices = ["12.3456789", "100", "0.0001", "-5.5", None, "0", "9999999999.9999"]
    frame = pd.DataFrame({
        "name": text(TRICKY_TEXT),
        "price": parse_decimals(text(prices)),
        "quantity": pd.Series([1, None, -3, 0, 2**53 + 1, 7, None], dtype="int64[pyarrow]"),
        "flag": pd.Series([True, False, None, True, None, None, False], dtype="bool[pyarrow]"),
        'odd "member"': text(["x"] * n),
    })
    expected = []
    for i in range(n):
        record = {"name": TRICKY_TEXT[i], "price": None if prices[i] is None else Decimal(prices[i]),
                  "quantity": frame["quantity"].iloc[i], "flag": frame["flag"].iloc[i], 'odd "member"': "x"}
        expected.append({k: v for k, v in record.items() if v is not None and v is not pd.NA})
    assert json_array(json_objects(frame)).text == dumps(expected)


def test_lists_nested_arrays_and_empty_rows():
    lists = pd.Series([["C1", 'C"2'], [], None, ["é\n"]], dtype=object)
    frame = pd.DataFrame({"accounts": lists, "code": text([None, None, None, "A"])})
    written = json_array(json_objects(frame))
    assert written.text == dumps([{"accounts": ["C1", 'C"2']}, {"accounts": []}, {}, {"accounts": ["é\n"], "code": "A"}])
    assert len(written) == 4


def test_a_squizz_document_with_nested_children_is_byte_for_byte_the_dict_encoding():
    records = pd.DataFrame({"record_key": text(["P1", "P2", "P3"]), "keyProductID": text(["P1", "P2", "P3"]),
                            "name": text(["Shirt \"XL\"", None, "Ünïcode"])})
    children = pd.DataFrame({"parent_key": text(["P3", "P1", "P3"]), "keySellUnitID": text(["EA", "BOX", "CTN"]),
                             "baseQuantity": parse_decimals(text(["1", "12.50", None]))})
    payload = Payload(records, children, child_field="sellUnits")
    document = build_document(3, payload.data_records(records.iloc[[0, 1, 2]]), ["keyProductID", "name"])
    expected = {**{k: v for k, v in document.items() if k != "dataRecords"}, "dataRecords": [
        {"keyProductID": "P1", "name": 'Shirt "XL"', "sellUnits": [{"keySellUnitID": "BOX", "baseQuantity": Decimal("12.5")}]},
        {"keyProductID": "P2", "sellUnits": []},
        {"keyProductID": "P3", "name": "Ünïcode", "sellUnits": [{"keySellUnitID": "EA", "baseQuantity": Decimal("1")},
                                                                 {"keySellUnitID": "CTN"}]},
    ]}
    assert gzip.decompress(encode_document(document)).decode() == dumps(expected)
    assert document["totalDataRecords"] == 3


def test_an_unsupported_column_is_refused_not_guessed():
    with pytest.raises(TypeError, match="when"):
        json_objects(pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])}))


def test_a_record_is_written_the_same_alone_and_among_records_that_need_escaping():
    """Escaping is decided per column and batch (most batches have nothing to escape): never per guess."""
    frame = pd.DataFrame({"name": text(TRICKY_TEXT), "code": text([f"C{i}" for i in range(len(TRICKY_TEXT))])})
    together = simplejson.loads(json_array(json_objects(frame)).text)
    one_by_one = [simplejson.loads(json_array(json_objects(frame.iloc[[i]])).text)[0] for i in range(len(frame))]
    assert together == one_by_one
    assert [r.get("name") for r in together] == [t for t in TRICKY_TEXT]
