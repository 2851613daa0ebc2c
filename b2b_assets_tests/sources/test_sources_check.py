"""`b2b-sync check` and `b2b-sync preview`: the mapping validated before a run, each problem once with its line."""

from __future__ import annotations

import textwrap

import pytest

from b2b_assets import cli
from b2b_assets.sources import load_mapping
from b2b_assets.sources.check import check_mapping
from b2b_assets.sources.preview import preview, render

THREE_MISTAKES = """\
inbox: inbox
sources:
  organizations:
    file: customers.csv
    columns:
      organization_number: CustNo
      organisation_name: CustName
  users:
    file: contacts.csv
    columns: {user_id: PersonID, organization_number: CustNo, email: Mail}
  unit_prices:
    file: prices.csv
    columns:
      product_id: Item
      price: {expr: "num(ListPrise) * 2"}
    constants: {price_level_id: LIST, sell_unit_id: EA}
"""


@pytest.fixture
def inbox(tmp_path, monkeypatch):
    (tmp_path / "inbox").mkdir()
    for name, text in {
        "customers.csv": "CustNo,CustName\nC-1,Harbour Café\n",
        "contacts.csv": "PersonID,CustNo,First,Last,Mail\nU1,C-1,Anna,Berg,anna@cafe.example\n",  # users need a name: nothing maps one
        "prices.csv": "Item,ListPrice\nP1,10\n",
    }.items():
        (tmp_path / "inbox" / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return tmp_path


def write(root, text: str):
    path = root / "mapping.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_three_mistakes_three_errors_each_once_with_file_and_line(inbox):
    path = write(inbox, THREE_MISTAKES)
    result = check_mapping(path)
    assert len(result.errors) == 3, result.errors
    unknown_field, no_name, bad_expr = result.errors
    # A mistake in the mapping itself does not hide the ones in other sources (all are collected).
    assert unknown_field.startswith(f"{path}:7: sources.organizations.columns.organisation_name:")
    assert "has no field 'organisation_name'" in unknown_field
    assert no_name.startswith(f"{path}:8: sources.users:") and "required column 'name' missing" in no_name
    assert bad_expr.startswith(f"{path}:15: sources.unit_prices.columns.price:") and "ListPrise" in bad_expr


def test_check_collects_errors_across_sources_once_the_mapping_parses(inbox):
    path = write(inbox, THREE_MISTAKES.replace("organisation_name", "organization_name"))
    errors = check_mapping(path).errors
    assert [e.split(": ")[1] for e in errors] == ["sources.users", "sources.unit_prices.columns.price"]


def test_make_check_prints_the_errors_once_exits_non_zero_and_sync_does_not_start(inbox, capsys):
    write(inbox, THREE_MISTAKES)
    assert cli.main(["check"]) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 3 and err.count("organisation_name: ") == 1
    assert cli.main(["sync"]) == 1
    captured = capsys.readouterr()
    assert "Run not started" in captured.err and captured.err.count("error: ") == 3
    assert not (inbox / "dagster_home").exists() and not (inbox / "state").exists()  # no step ran


def test_a_partial_mapping_checks_clean_and_notes_what_is_not_synced(inbox, capsys):
    write(inbox, "inbox: inbox\nsources:\n  organizations:\n    file: customers.csv\n"
                 "    columns: {organization_number: CustNo, organization_name: CustName}\n")
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "note: not in the mapping, so not synced: taxcodes, price_levels" in out and "ok" in out


def test_preview_shows_field_origins_name_matches_rows_and_what_would_be_quarantined(inbox):
    (inbox / "inbox" / "contacts.csv").write_text(
        "PersonID,CustNo,Name,EMail\nU1,C-1,Harbour Café,anna@cafe.example\nU2,C-1,Harbour Café,not-an-email\n")
    write(inbox, """\
        inbox: inbox
        sources:
          users:
            file: contacts.csv
            columns: {user_id: PersonID, organization_number: CustNo, email: EMail}
    """)
    shown = preview(load_mapping(inbox / "mapping.yaml"), "users", rows=5)
    assert shown.origins["user_id"] == "column 'PersonID'"
    assert shown.origins["name"] == "column 'Name' (matched by name)" and shown.matched_by_name == ["name"]
    assert shown.rows["user_key"].tolist() == ["U1"]
    assert shown.quarantined[["row_number", "field"]].values.tolist() == [[2, "email"]]
    text = render(shown)
    assert "Matched by name" in text and "match_by_name: false" in text and "Would be quarantined" in text
