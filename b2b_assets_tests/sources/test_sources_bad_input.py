"""Bad input, one case each: the issue names file, row and field with a readable reason, and the
good rows of the same file still come through."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from b2b_assets.sources import EntitySource, ReadOptions, Settings, parse_mapping

ORG_HEADER = "organization_number,organization_name,status,sales_rep_email"


def source_for(entity: str, name: str, **read) -> EntitySource:
    return EntitySource(entity=entity, file=Path(name), read=ReadOptions(**read))


def test_malformed_row_wrong_field_count(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\nC-2,Beta,active,x@y.com,EXTRA\nC-3,Gamma,active,\n")
    out = run("organizations", path)
    issue = out.issue(row=2, field=None, contains="row has 5 fields, the header has 4")
    assert issue["source"] == "orgs.csv" and issue["value"] == "C-2,Beta,active,x@y.com,EXTRA"
    assert out.keys("organization_number") == ["C-1", "C-3"]
    assert out.valid["_row"].tolist() == [1, 3]  # row numbers stay those of the file


def test_wrong_delimiter_declared(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\n")
    out = run("organizations", path, source_for("organizations", "orgs.csv", delimiter=";"))
    out.issue(row=None, field=None, contains="declared delimiter ';' does not occur in the header, which looks ','")
    assert out.valid.empty


def test_utf8_bom_is_not_part_of_the_first_column(write, run):
    path = write("orgs.csv", b"\xef\xbb\xbf" + f"{ORG_HEADER}\nC-1,Caf\u00e9 M\u00fcller,active,\n".encode())
    out = run("organizations", path)
    assert out.issues.empty and out.warnings == []
    assert out.keys("organization_name") == ["Caf\u00e9 M\u00fcller"]


def test_latin1_undeclared_is_read_as_cp1252_with_a_warning(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Caf\u00e9 M\u00fcller,active,\nC-2,Br\u00e4u \u20ac,active,\n", "cp1252")
    out = run("organizations", path)
    assert out.keys("organization_name") == ["Caf\u00e9 M\u00fcller", "Br\u00e4u \u20ac"]
    assert any("orgs.csv: not valid UTF-8" in w and "read as cp1252" in w for w in out.warnings)
    assert out.issues.empty


def test_latin1_declared_reads_without_warning(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Caf\u00e9,active,\n", "latin-1")
    out = run("organizations", path, source_for("organizations", "orgs.csv", encoding="latin-1"))
    assert out.keys("organization_name") == ["Caf\u00e9"] and out.warnings == [] and out.issues.empty


def test_utf8_declared_but_file_is_not(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Caf\u00e9,active,\n", "latin-1")
    out = run("organizations", path, source_for("organizations", "orgs.csv", encoding="utf-8"))
    out.issue(row=None, field=None, contains="not valid UTF-8 as declared (byte 0xE9")


def test_duplicate_keys_keep_the_first(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-0,Zero,active,\nC-1,First,active,\nC-2,Two,active,\n"
                             "C-1,Second,active,\nC-1,Third,active,\n")
    out = run("organizations", path)
    out.issue(row=4, field="organization_number", contains="duplicate key organization_number='C-1': row 2 came first and was kept")
    out.issue(row=5, field="organization_number", contains="row 2 came first and was kept")
    assert out.keys("organization_name") == ["Zero", "First", "Two"]


def test_duplicate_keys_across_batches_and_composite_keys(write, run):
    rows = "".join(f"C-{i % 3},L-{i},Store {i},1 Main St,Town\n" for i in range(6))
    path = write("locs.csv", "organization_number,location_id,location_name,address1,city\n" + rows
                 + "C-1,L-1,Again,2 Main St,Town\n")
    out = run("locations", path, source_for("locations", "locs.csv", batch_rows=2))
    out.issue(row=7, field="organization_number+location_id",
              contains="duplicate key organization_number='C-1', location_id='L-1': row 2 came first and was kept")
    assert len(out.valid) == 6


def test_duplicate_keys_over_many_batches_name_the_first_row(write, run):
    """Enough batches that the remembered keys are merged more than once; repeats within a batch and across
    batches each name the row that came first, and every other row loads."""
    keys = [f"C-{i}" for i in range(300)]
    order = keys + keys[::7] + keys[250:] + keys[:3]  # later repeats: every 7th, the last 50, and the first three
    path = write("orgs.csv", ORG_HEADER + "\n" + "".join(f"{k},Name {n},active,\n" for n, k in enumerate(order)))
    out = run("organizations", path, source_for("organizations", "orgs.csv", batch_rows=3))
    duplicates = out.issues[out.issues["reason"].str.contains("duplicate key")]
    expected = {row: keys.index(k) + 1 for row, k in enumerate(order, start=1) if row > 300}
    assert dict(zip(duplicates["row_number"], duplicates["reason"].str.extract(r"row (\d+) came first")[0].astype(int))
                ) == expected
    assert out.keys("organization_number") == keys


def test_missing_required_column(write, run):
    path = write("orgs.csv", "organization_number,status\nC-1,active\n")
    out = run("organizations", path)
    issue = out.issue(row=None, field="organization_name",
                      contains="required column 'organization_name' missing; header has: organization_number, status")
    assert issue["source"] == "orgs.csv"
    assert out.valid.empty and out.rows_read == 1


def test_missing_required_value(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,,active,\nC-2,Beta,active,\n")
    out = run("organizations", path)
    out.issue(row=1, field="organization_name", contains="required value is empty")
    assert out.keys("organization_number") == ["C-2"]


def test_whitespace_only_counts_as_empty(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,   ,active,\n  C-2  ,  Beta  ,active,\n")
    out = run("organizations", path)
    out.issue(row=1, field="organization_name", contains="required value is empty")
    assert out.keys("organization_number") == ["C-2"] and out.keys("organization_name") == ["Beta"]


def test_overlong_value(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\n{'K' * 61},Acme,active,\nC-2,Beta,active,\n")
    out = run("organizations", path)
    out.issue(row=1, field="organization_number", contains="length 61 exceeds maximum 50")
    assert out.keys("organization_number") == ["C-2"]


def test_invalid_email(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,xx@\nC-2,Beta,active,rep@example.com\n")
    out = run("organizations", path)
    issue = out.issue(row=1, field="sales_rep_email", contains="value 'xx@' is not a valid email address")
    assert issue["value"] == "xx@"
    assert out.keys("sales_rep_email") == ["rep@example.com"]


def test_unknown_status_and_status_synonyms(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,foo,\nC-2,B,A,\nC-3,C,INACTIVE,\nC-4,D,disabled,\nC-5,E,,\n")
    out = run("organizations", path, settings=Settings(default_status="inactive"))
    out.issue(row=1, field="status", contains="'foo' is not one of active, inactive")
    assert out.keys("status") == ["active", "inactive", "inactive", "inactive"]  # C-5 took the default


def test_invalid_country_and_country_names(write, run):
    header = "organization_number,location_id,address1,city,country\n"
    path = write("locs.csv", header + "C-1,L-1,1 Main,Berlin,Narnia\nC-1,L-2,1 Main,Berlin,DEU\n"
                                      "C-1,L-3,2 Main,NYC,United States\nC-1,L-4,3 Main,Paris,fr\n")
    out = run("locations", path)
    out.issue(row=1, field="country", contains="'Narnia' is not a known country")
    assert out.keys("country") == ["DE", "US", "FR"]
    assert out.keys("location_name") == ["Berlin", "NYC", "Paris"]  # seed 000: city stands in for the name


def test_empty_file(write, run):
    out = run("organizations", write("orgs.csv", ""))
    out.issue(row=None, field=None, contains="file is empty")
    assert out.valid.empty


def test_header_only_file(write, run):
    out = run("organizations", write("orgs.csv", ORG_HEADER + "\n"))
    out.issue(row=None, field=None, contains="has a header but no data rows")
    assert out.valid.empty and list(out.valid.columns)[:2] == ["organization_number", "organization_name"]


def test_unknown_columns_are_a_single_warning(write, run):
    path = write("orgs.csv", f"{ORG_HEADER},Colour,Mood\nC-1,Acme,active,,red,ok\nC-2,B,active,,blue,ok\n")
    out = run("organizations", path)
    assert out.issues.empty and len(out.valid) == 2
    assert [w for w in out.warnings if "ignored column" in w] == [
        "orgs.csv: ignored column(s) not mapped to organizations: Colour, Mood"]


def test_non_numeric_decimal(write, run):
    path = write("products.csv", 'product_id,name,weight\nP-1,Bolt,"1,234.50"\nP-2,Nut,1e3\nP-3,Washer,0.25\n')
    out = run("products", path)
    out.issue(row=1, field="weight", contains="'1,234.50' is not a plain decimal number")
    out.issue(row=2, field="weight", contains="'1e3' is not a plain decimal number")
    assert out.keys("product_id") == ["P-3"] and out.valid["weight"].tolist() == [Decimal("0.25")]
    assert str(out.valid["weight"].dtype) == "decimal128(38, 10)[pyarrow]"


def test_negative_and_zero_price(write, run):
    path = write("prices.csv", "product_id,price_level_id,sell_unit_id,price\n"
                               "P-1,RETAIL,EA,-5\nP-2,RETAIL,EA,0\nP-3,RETAIL,EA,9.123456\n")
    out = run("unit_prices", path)
    out.issue(row=1, field="price", contains="value -5 is below the minimum 0")
    # Zero is a valid hub price; SQUIZZ refuses it in its own limits, for SQUIZZ only.
    assert out.keys("product_id") == ["P-2", "P-3"]
    assert out.valid["price"].tolist() == [Decimal("0"), Decimal("9.123456")]  # exact: a target applies its own scale


def test_invalid_boolean(write, run):
    path = write("orgs.csv", "organization_number,organization_name,sales_incentive\nC-1,A,maybe\nC-2,B,Yes\nC-3,C,0\n")
    out = run("organizations", path)
    out.issue(row=1, field="sales_incentive", contains="'maybe' is not a boolean")
    assert out.valid["sales_incentive"].tolist() == [True, False]


def test_invalid_currency(write, run):
    path = write("orgs.csv", "organization_number,organization_name,currency\nC-1,A,EUX\nC-2,B,eur\n")
    out = run("organizations", path)
    out.issue(row=1, field="currency", contains="'EUX' is not an ISO 4217 currency code")
    assert out.keys("currency") == ["EUR"]


def test_customer_price_without_account_or_group(write, run):
    path = write("cp.csv", "product_id,organization_number,price_group_id,sell_unit_id,quantity,price\n"
                           "P-1,,,EA,1,10\nP-1,C-1,,EA,1,9\nP-1,,VIP,EA,1,8\n")
    out = run("customer_prices", path)
    out.issue(row=1, field="organization_number+price_group_id", contains="needs organization_number or price_group_id")
    assert out.valid["price"].tolist() == [9.0, 8.0]


def test_broken_jsonl_line(write, run):
    path = write("users.jsonl", '{"organization_number":"C-1","user_id":"U-1","name":"Ann","email":"a@x.com"}\n'
                                '{"organization_number":"C-1","user_id":"U-2",\n'
                                '{"organization_number":"C-1","username":"bob","name":"Bob","email":"b@x.com"}\n')
    out = run("users", path)
    issue = out.issue(row=2, field=None, contains="line is not valid JSON")
    assert issue["source"] == "users.jsonl"
    assert out.keys("user_key") == ["U-1", "bob"] and out.valid["_row"].tolist() == [1, 3]


def test_json_not_an_array(write, run):
    out = run("organizations", write("orgs.json", '{"organization_number": "C-1"}'))
    out.issue(row=None, field=None, contains="expected a JSON array of records at the top level, found an object")
    assert out.valid.empty


def test_json_array_element_not_an_object_and_typed_values(write, run):
    path = write("orgs.json", '[{"organization_number": 1001, "organization_name": "A", "sales_incentive": true,'
                              ' "data": {"tier": 1}}, 42, {"organization_number": "C-2", "organization_name": ""}]')
    out = run("organizations", path)
    out.issue(row=2, field=None, contains="element is a JSON number, expected an object")
    out.issue(row=3, field="organization_name", contains="required value is empty")
    assert out.keys("organization_number") == ["1001"] and out.valid["sales_incentive"].tolist() == [True]
    assert out.keys("data") == ['{"tier":1}']


def test_mapping_value_map_and_split(write, run, tmp_path):
    mapping = parse_mapping({
        "sources": {"organizations": {
            "file": "customers.txt", "delimiter": "|",
            "columns": {"organization_number": "CustNo", "organization_name": "Name",
                        "status": {"from": "Status", "map": {"A": "active", "X": "inactive"}},
                        "payment_type_ids": {"from": "PayTypes", "split": ","}},
            "constants": {"currency": "EUR"}}}}, base_dir=tmp_path)
    path = write("customers.txt", "CustNo|Name|Status|PayTypes\nC-1|Acme|A|CARD, ACCOUNT ,\nC-2|Beta|X|\nC-3|Gamma|Q|\n")
    out = run("organizations", path, mapping.source("organizations"), mapping.settings)
    out.issue(row=3, field="status", contains="'Q' is not one of active, inactive")
    assert out.keys("status") == ["active", "inactive"]
    assert out.valid["payment_type_ids"].fillna("").tolist() == ["CARD|ACCOUNT", ""]
    assert out.keys("currency") == ["EUR", "EUR"]


def test_quoted_delimiter_and_newline_inside_a_field(write, run):
    path = write("locs.csv", 'organization_number,location_id,location_name,address1,city\n'
                             'C-1,L-1,"Smith, Jones & Co","12 High St\nUnit 4",London\n'
                             'C-1,L-2,Shop,"1 Road",\n'
                             'C-1,L-3,Shop 3,3 Road,Leeds\n')
    out = run("locations", path)
    out.issue(row=2, field="city", contains="required value is empty")  # row 2 although it starts on line 4
    assert out.keys("location_name") == ["Smith, Jones & Co", "Shop 3"]
    assert out.keys("address1") == ["12 High St\nUnit 4", "3 Road"]
    assert out.valid["_row"].tolist() == [1, 3]


def test_pipe_delimited_file_is_sniffed(write, run):
    path = write("orgs.txt", "organization_number|organization_name|status\nC-1|Acme, Inc.|active\nC-2||active\n")
    out = run("organizations", path)
    out.issue(row=2, field="organization_name", contains="required value is empty")
    assert out.keys("organization_name") == ["Acme, Inc."]


def test_semicolon_and_tab_delimited_files(write, run):
    for name, text in [("a.csv", "organization_number;organization_name\nC-1;A\n"),
                       ("b.tsv", "organization_number\torganization_name\nC-1\tA\n")]:
        out = run("organizations", write(name, text))
        assert out.keys("organization_name") == ["A"] and out.issues.empty


def test_users_need_user_id_or_username(write, run):
    path = write("users.csv", "organization_number,user_id,username,name,email\n"
                              "C-1,,,Ann,a@x.com\nC-1,,bob,Bob,b@x.com\nC-1,U-3,carol,Carol,c@x.com\n")
    out = run("users", path)
    out.issue(row=1, field="user_key", contains="user_id and username are both empty")
    assert out.keys("user_key") == ["bob", "U-3"]


def test_one_user_per_organization_mode(write, run):
    path = write("users.csv", "organization_number,name,email\nC-1,Ann,a@x.com\nC-1,Bob,b@x.com\nC-2,Cy,c@x.com\n")
    out = run("users", path, settings=Settings(users_key="organization"))
    out.issue(row=2, field="user_key", contains="duplicate key user_key='C-1': row 1 came first and was kept")
    assert out.keys("user_key") == ["C-1", "C-2"]


def test_missing_file_is_an_issue_not_a_crash(tmp_path, run):
    out = run("organizations", tmp_path / "nope.csv")
    out.issue(row=None, field=None, contains="file not found")


def test_several_failures_in_one_row_give_one_issue_per_field(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,,foo,bad@\nC-2,Ok,active,\n")
    out = run("organizations", path)
    assert sorted(out.issues["field"]) == ["organization_name", "sales_rep_email", "status"]
    assert set(out.issues["row_number"]) == {1}
    assert out.keys("organization_number") == ["C-2"]


def test_valid_output_has_model_dtypes(write, run):
    from b2b_assets.model import entity
    from b2b_assets.model.frames import cast_frame

    path = write("orgs.csv", "organization_number,organization_name,discount_percent,sales_incentive\nC-1,A,5,y\n")
    out = run("organizations", path)
    canonical = out.valid[entity("organizations").columns]
    pd.testing.assert_frame_equal(canonical, cast_frame(entity("organizations"), canonical))
    assert out.valid["is_on_hold"].tolist() == [False]  # model default filled in


def test_decimals_are_exact_from_csv_and_json(write, run):
    """Issue 7.4: float64 stored 0.00001 as 0.0, rounded 12.3456789 and turned 99999999999999.99 into ...98."""
    values = ["0.00001", "12.3456789", "99999999999999.99"]
    csv_path = write("prices.csv", "product_id,price_level_id,sell_unit_id,price\n"
                     + "".join(f"P-{i},RETAIL,EA,{v}\n" for i, v in enumerate(values)))
    jsonl_path = write("prices.jsonl", "".join(
        f'{{"product_id": "P-{i}", "price_level_id": "RETAIL", "sell_unit_id": "EA", "price": {v}}}\n'
        for i, v in enumerate(values)))
    for path in (csv_path, jsonl_path):
        out = run("unit_prices", path)
        assert out.issues.empty, out.issues
        assert out.valid["price"].tolist() == [Decimal(v) for v in values], path.name


def test_decimals_the_model_cannot_hold_are_quarantined_not_rounded(write, run):
    path = write("prices.csv", "product_id,price_level_id,sell_unit_id,price\n"
                               "P-1,RETAIL,EA,0.00000000001\nP-2,RETAIL,EA,1.00000000001\n"
                               "P-3,RETAIL,EA,12345678901234567890123456789\nP-4,RETAIL,EA,2.500000000000000\n")
    out = run("unit_prices", path)
    out.issue(row=1, field="price", contains="'0.00000000001' has no significant digit within 10 decimal places "
                                             "and would be rounded to zero")
    out.issue(row=2, field="price", contains="'1.00000000001' has more than 10 decimal places and would lose digits")
    out.issue(row=3, field="price", contains="has more than 28 digits before the decimal point")
    assert out.valid["price"].tolist() == [Decimal("2.5")]  # trailing zeros are not digits lost
