"""Bad bytes (issue 7, points 5-9): line endings, runaway quotes, control characters, look-alike keys,
encodings and Excel-mangled codes. Each is reported with file, row, field and reason; the good rows load."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2b_assets.sources import EntitySource, MappingError, ReadOptions, parse_mapping

ORG_HEADER = "organization_number,organization_name,status,sales_rep_email"


def source_for(entity: str, name: str, **read) -> EntitySource:
    return EntitySource(entity=entity, file=Path(name), read=ReadOptions(**read))


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_any_line_ending_is_read(write, run, newline):
    rows = [ORG_HEADER, "C-1,Acme,active,", 'C-2,"Two\nlines",active,', "C-3,Gamma,active,"]
    path = write("orgs.csv", newline.join(rows) + newline)
    out = run("organizations", path)
    assert out.issues.empty, out.issues.to_string()
    assert out.keys("organization_number") == ["C-1", "C-2", "C-3"]
    assert out.valid["_row"].tolist() == [1, 2, 3]


def test_an_unclosed_quote_loses_no_line(write, run):
    path = write("orgs.csv", f'{ORG_HEADER}\nC-1,Acme,active,\nC-2,"Bad,active,\nC-3,Gamma,active,\nC-4,Delta,active,\n'
                             'C-3,Again,active,\n')
    out = run("organizations", path)
    issue = out.issue(row=2, field=None, contains="a quote opened in this row is not closed on its line")
    assert issue["source"] == "orgs.csv" and issue["value"] == 'C-2,"Bad,active,'
    assert list(zip(out.keys("organization_number"), out.valid["_row"])) == [("C-1", 1), ("C-3", 3), ("C-4", 4)]
    out.issue(row=5, field="organization_number", contains="row 3 came first and was kept")  # recovered rows keep file order
    assert len(out.issues) == 2  # every line is loaded or reported


def test_an_unclosed_quote_that_meets_a_later_quote_reports_the_lines_between(write, run):
    path = write("orgs.csv", f'{ORG_HEADER}\nC-1,Acme,active,\nC-2,"Bad,active,\nC-3,Gamma,active,\n'
                             f'C-4,"Delta",active,\nC-5,Epsilon,active,\n')
    out = run("organizations", path)
    # The quote closes at C-4's, so Arrow sees one row with the right number of fields: no row is guessed
    # from it, but it is not loaded as a name spanning three lines either.
    issue = out.issue(row=2, field=None, contains="runs over 3 lines, and the lines after the first look like rows")
    assert "C-3,Gamma,active," in issue["value"] and "C-4,Delta" in issue["value"]
    assert out.keys("organization_number") == ["C-1", "C-5"]


def test_control_characters_are_quarantined_per_row_and_named(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\nC\x00-2,Nul,active,\nC-3,Bell\x07,active,\n"
                             'C-4,"Tab\tand\nnewline",active,\n')
    out = run("organizations", path)
    key = out.issue(row=2, field="organization_number", contains="control character U+0000 (NUL) at position 2")
    assert key["value"] == "C\\x00-2"  # spelled out: a report shows it, PostgreSQL stores it
    out.issue(row=3, field="organization_name", contains="control character U+0007 at position 5")
    assert out.keys("organization_number") == ["C-1", "C-4"]  # tab and line break are text in a name


def test_the_key_separator_inside_a_key_is_rejected(write, run):
    path = write("locs.csv", "organization_number,location_id,location_name,address1,city\n"
                             "C-1\x1fL,1,Store,1 Main St,Town\nC-1,L\x1f1,Store,1 Main St,Town\nC-1,L-2,Ok,1 Main St,Town\n")
    out = run("locations", path)
    out.issue(row=1, field="organization_number", contains="joins the parts of a composite key")
    out.issue(row=2, field="location_id", contains="joins the parts of a composite key")
    assert out.keys("location_id") == ["L-2"]


def test_key_whitespace_is_normalised_and_case_variants_are_reported(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\nc-1,Lower,active,\nC\u00a0-1,Nbsp,active,\n"
                             "\u00a0C-2\u2003,Padded,active,\nC-2,Again,active,\n"
                             "C\u00a0\u00a0-3,Wide,active,\nC\u200b-4,Hidden,active,\n")
    out = run("organizations", path)
    assert out.keys("organization_number") == ["C-1", "c-1", "C -1", "C-2", "C -3", "C-4"]
    out.issue(row=5, field="organization_number", contains="duplicate key organization_number='C-2': row 4 came first and was kept")
    warning = next(w for w in out.warnings if "differ from an earlier key only in case or spacing" in w)
    assert "'c-1' (row 2, like row 1)" in warning and "'C -1' (row 3, like row 1)" in warning
    assert "keys_case_insensitive: true" in warning


def test_case_insensitive_keys_fold_keys_and_references(write, run, tmp_path):
    mapping = parse_mapping({"sources": {
        "organizations": {"file": "orgs.csv", "keys_case_insensitive": "true"},
        "locations": {"file": "locs.csv"},
    }}, base_dir=tmp_path)
    orgs = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\nc-1,Lower,active,\n")
    out = run("organizations", orgs, mapping.source("organizations"))
    out.issue(row=2, field="organization_number", contains="duplicate key organization_number='C-1'")
    assert out.keys("organization_number") == ["C-1"] and not any("case or spacing" in w for w in out.warnings)
    assert mapping.source("locations").keys_case_insensitive is False  # off by default
    with pytest.raises(MappingError, match="keys_case_insensitive: 'maybe' is not true or false"):
        parse_mapping({"sources": {"organizations": {"file": "o.csv", "keys_case_insensitive": "maybe"}}})


def test_utf16_and_utf32_are_detected_by_their_byte_order_mark(write, run):
    text = f"{ORG_HEADER}\r\nC-1,Caf\u00e9 M\u00fcller,active,\r\n"
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        out = run("organizations", write(f"orgs-{encoding}.csv", data))
        assert out.issues.empty and out.warnings == [], (encoding, out.issues.to_string(), out.warnings)
        assert out.keys("organization_name") == ["Caf\u00e9 M\u00fcller"], encoding


def test_utf16_jsonl_is_detected_too(write, run):
    out = run("organizations", write("orgs.jsonl", '{"organization_number": "C-1", "organization_name": "Caf\u00e9"}\n'
                                                  .encode("utf-16")))
    assert out.issues.empty and out.keys("organization_name") == ["Caf\u00e9"]


def test_utf8_bom_on_a_cp1252_body_reads_the_body_with_one_warning(write, run):
    path = write("orgs.csv", b"\xef\xbb\xbf" + f"{ORG_HEADER}\nC-1,Caf\u00e9,active,\n".encode("cp1252"))
    out = run("organizations", path)
    assert out.issues.empty and out.keys("organization_name") == ["Caf\u00e9"]
    [warning] = out.warnings
    assert "not valid UTF-8 although it starts with a UTF-8 byte-order mark (byte 0xE9 at offset 71, line 2)" in warning
    assert "read as cp1252" in warning and "encoding:" in warning


def test_utf8_bom_with_cp1252_declared_reads_without_the_bom(write, run):
    path = write("orgs.csv", b"\xef\xbb\xbf" + f"{ORG_HEADER}\nC-1,Caf\u00e9,active,\n".encode("cp1252"))
    out = run("organizations", path, source_for("organizations", "orgs.csv", encoding="cp1252"))
    assert out.issues.empty and out.warnings == [] and out.keys("organization_name") == ["Caf\u00e9"]


def test_a_declared_encoding_that_fails_says_which_where_and_how_to_fix_it(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\nC-2,Caf\u00e9,active,\n".encode("utf-8"))
    out = run("organizations", path, source_for("organizations", "orgs.csv", encoding="ascii"))
    issue = out.issue(row=None, field=None, contains="file is not valid ascii (declared in the mapping): "
                                                     "byte 0xC3 at offset 85, line 3")
    assert "`encoding: cp1252`" in issue["reason"]
    assert len(out.issues) == 1 and out.valid.empty  # one clear message, not a garbled header


def test_a_broken_utf16_file_says_the_encoding_came_from_its_mark(write, run):
    path = write("orgs.csv", f"{ORG_HEADER}\nC-1,Acme,active,\n".encode("utf-16") + b"\x00\xdc")  # lone surrogate
    out = run("organizations", path)
    out.issue(row=None, field=None, contains="file is not valid utf-16-le (detected from the file's byte-order mark")
    assert len(out.issues) == 1


def test_excel_scientific_notation_in_a_code_column_is_quarantined(write, run):
    path = write("products.csv", "product_id,name,barcode\n9.3E+12,Ring,1\nP-2,Chain,9.30123E+12\nP-3,Pin,4006381333931\n"
                                 "P-4,1E+15 Club,1234E5\n")
    out = run("products", path)
    out.issue(row=1, field="product_id", contains="'9.3E+12' is a number in scientific notation")
    out.issue(row=2, field="barcode", contains="export this column as text")
    assert out.keys("product_id") == ["P-3", "P-4"]  # names are not codes; a code like 1234E5 is not Excel's
