"""The Customer Sync file encoding, read back by the sandbox's own intake (seed 001's rules, its own table)."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from b2b_assets.sandbox.joor_ftp.intake import Intake
from b2b_assets.targets.core.contract import RECORD_KEY, Batch
from b2b_assets.targets.joor import customer_file
from b2b_assets.targets.joor.customer_file import encode, file_rows, limits, to_file_payload
from b2b_assets.targets.joor.file_target import CUSTOMER_SYNC_FILE
from b2b_assets.targets.joor.file_writer import write_file

from .test_mapping import hub, hub_rows


def _read(data: bytes, delimiter: str = "|") -> Intake:
    intake = Intake(delimiter)
    intake.read("customer_test.txt", data)
    return intake


def test_one_row_per_address_with_the_customers_columns_repeated_and_numbered_attributes() -> None:
    payload = to_file_payload(hub())
    rows = file_rows(payload)
    c1 = rows[rows["customer_code"] == "C1"]
    # C1-S is "both": a shipping row and a billing row; C1-B billing only; shipping rows first.
    assert list(zip(c1["address_type"], c1["shipping_code_1"].fillna(""), c1["billing_code_1"].fillna(""))) == [
        ("S", "C1-S", ""), ("B", "", "C1-B"), ("B", "", "C1-S")]
    assert set(c1["profile_name"]) == {"Boutique One"} and set(c1["payment_terms_code_2"]) == {"ACCT"}
    header = encode(rows).decode().split("\r\n", 1)[0].split("|")
    assert header[:3] == ["profile_name", "customer_code", "customer_alias"]
    assert {"buyer_name_1", "buyer_email_1", "payment_terms_1", "payment_terms_code_2", "price_type_currency_1",
            "warehouse_code_1", "shipping_terms_1", "shipping_zip_1", "billing_country_1"} <= set(header)
    assert "buyer_name_2" not in header  # the inactive buyer is not a buyer

    intake = _read(encode(rows))
    assert intake.problems == []
    c1 = intake.connections["C1"]
    assert c1["payment_terms"] == [{"payment_terms": "Credit Card", "payment_terms_code": "cc"},
                                   {"payment_terms": "On account", "payment_terms_code": "ACCT"}]
    assert c1["discount"] == "4" and c1["discount_line_item_level"] == "yes"
    assert [a["billing_code"] for a in c1["billing_addresses"]] == ["C1-B", "C1-S"]
    assert c1["shipping_addresses"] == [{"shipping_code": "C1-S", "shipping_name": "Store",
                                         "shipping_address_1": "2 Main St", "shipping_city": "New York",
                                         "shipping_state": "NY", "shipping_country": "US"}]


def test_a_customer_without_an_address_is_refused_for_the_file_only() -> None:
    reasons = limits(to_file_payload(hub()))
    assert reasons.to_dict() == {"C2": "JOOR Customer Sync needs at least one billing or shipping address; "
                                       "the hub has none"}


@pytest.mark.parametrize("delimiter", ["|", ";", ","])
def test_a_delimiter_a_quote_or_a_newline_inside_a_value_round_trips(delimiter: str) -> None:
    tricky_name = f'Pipe | semi ; comma , "quoted"\nsecond line\r\nthird'
    frames = hub(locations=[
        {"organization_number": "C2", "location_id": "C2-S", "location_name": 'Dock "A"|B', "address1": "1 Rue\nBis",
         "city": "Lyon", "country": "FR", "address_type": "shipping"}])
    frames["organizations"].loc[frames["organizations"]["organization_number"] == "C2",
                                "organization_name"] = tricky_name
    payload = to_file_payload(frames)
    data = encode(file_rows(payload), delimiter)
    intake = _read(data, delimiter)
    assert intake.problems == []
    c2 = intake.connections["C2"]
    assert c2["profile_name"] == tricky_name
    assert c2["shipping_addresses"][0]["shipping_name"] == 'Dock "A"|B'
    assert c2["shipping_addresses"][0]["shipping_address_1"] == "1 Rue\nBis"


def test_the_state_is_required_in_us_ca_jp_au_by_the_limits_and_by_the_intake() -> None:
    frames = hub(locations=[
        {"organization_number": "C1", "location_id": "C1-S", "location_name": "Store", "address1": "2 Main St",
         "city": "Toronto", "country": "CA", "address_type": "shipping"},
        {"organization_number": "C2", "location_id": "C2-S", "location_name": "Lyon", "address1": "1 Rue",
         "city": "Lyon", "country": "FR", "address_type": "shipping"}])
    payload = to_file_payload(frames)
    assert limits(payload).to_dict() == {
        "C1": "shipping_state_1 is required by JOOR Customer Sync when the country is CA (C1-S)"}
    # The intake refuses such a row by itself, even when a client skipped the check.
    intake = _read(encode(file_rows(payload)))
    assert list(intake.connections) == ["C2"]
    assert [(p.row, p.column, p.customer_code) for p in intake.problems] == [(2, "shipping_state_1", "C1")]


def test_a_discount_must_be_a_whole_number_and_a_buyer_needs_an_email() -> None:
    frames = hub()
    frames["organizations"]["discount_percent"] = frames["organizations"]["discount_percent"].astype(
        "float64[pyarrow]").fillna(0) + 0.5
    assert "discount 4.5 is not a whole number" in limits(to_file_payload(frames))["C1"]

    intake = _read("profile_name|customer_code|buyer_name_1|buyer_email_1|price_type_currency_1|price_type_name_1|"
                   "address_type|billing_code_1|billing_country_1\r\n"
                   "One|C1|Ann||USD|Wholesale|B|C1-B|FR\r\n".encode())
    assert intake.connections == {}
    assert [(p.column, p.reason) for p in intake.problems] == [
        ("buyer_email_1", "a buyer's e-mail is required with the buyer's name")]


def test_the_intake_refuses_a_file_with_an_unknown_column_or_a_row_of_the_wrong_width() -> None:
    unknown = _read(b"profile_name|customer_code|favourite_colour\r\nOne|C1|red\r\n")
    assert unknown.connections == {} and not unknown.files[0].accepted
    assert "unknown column 'favourite_colour'" in unknown.problems[0].reason
    good = ("profile_name|customer_code|price_type_currency_1|price_type_name_1|address_type|billing_code_1|"
            "billing_country_1\r\n")
    short = _read((good + "One|C1|USD|Wholesale|B|C1-B\r\nTwo|C2|USD|Wholesale|B|C2-B|FR\r\n").encode())
    assert list(short.connections) == ["C2"]
    assert short.problems[0].row == 2 and "6 fields, the header has 7" in short.problems[0].reason


@pytest.mark.parametrize("delimiter", ["|", ",", "\t"])
@pytest.mark.parametrize("rows_at_a_time", [customer_file.ENCODE_ROWS, 1, 2])
def test_the_file_is_byte_for_byte_what_the_csv_module_writes(delimiter: str, rows_at_a_time: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The columnar writer replaced pandas' to_csv (QUOTE_MINIMAL); JOOR's intake must see the same bytes,
    # however many slices of rows it writes the file in.
    monkeypatch.setattr(customer_file, "ENCODE_ROWS", rows_at_a_time)
    organizations = [{**hub_rows("organizations")[0], "organization_name": 'Quote " pipe | comma, tab\t ü',
                      "alias": "line\nbreak\r\nand cr\r"}, *hub_rows("organizations")[1:]]
    rows = file_rows(to_file_payload(hub(organizations=organizations)))
    text = io.StringIO()
    rows.drop(columns=[RECORD_KEY]).to_csv(text, sep=delimiter, index=False, quoting=csv.QUOTE_MINIMAL,
                                           quotechar='"', doublequote=True, lineterminator="\r\n")
    assert encode(rows, delimiter) == text.getvalue().encode("utf-8")
    assert encode(rows.iloc[:0], delimiter) == text.getvalue().split("\r\n", 1)[0].encode() + b"\r\n"


@pytest.mark.parametrize("delimiter", ["|", ","])
def test_a_file_written_a_part_at_a_time_is_byte_for_byte_the_file_of_all_its_rows(delimiter: str) -> None:
    # A first sync hands the sender its customers a part of the payload at a time; the numbered columns
    # are as wide as the most any customer of the whole file has, here a customer of the last part.
    c3 = {**hub_rows("organizations")[0], "organization_number": "C3", "organization_name": "Three, with | and \""}
    buyers = [{"user_key": f"U3{n}", "organization_number": "C3", "name": f"Buyer {n}", "email": f"b{n}@three.example"}
              for n in range(3)]
    store = {"organization_number": "C3", "location_id": "C3-S", "location_name": "Store", "address1": "9 Rue",
             "city": "Lyon", "country": "FR", "address_type": "both"}
    payload = to_file_payload(hub(organizations=[*hub_rows("organizations"), c3],
                                  users=[*hub_rows("users"), *buyers], locations=[*hub_rows("locations"), store]))
    parts = []
    for keys in (["C1"], ["C2", "C3"]):
        records = payload.records[payload.records[RECORD_KEY].isin(keys)].reset_index(drop=True)
        parts.append(Batch(CUSTOMER_SYNC_FILE, dataclasses.replace(payload, records=records,
                                                                    children=payload.children_of(records)), records))
    written = io.BytesIO()
    write_file(iter(parts), written, delimiter)
    whole = encode(file_rows(payload), delimiter)
    assert b"buyer_name_3" in whole.split(b"\r\n", 1)[0]
    assert written.getvalue() == whole
