"""The mapping file: format, defaults, and errors that name the file and the entry."""

from __future__ import annotations

import pytest

from b2b_assets.sources import MappingError, load_mapping

MAPPING = """\
inbox: inbox
defaults: {encoding: utf-8, delimiter: auto}
users_key: organization
default_status: inactive
sources:
  organizations:
    file: customers.csv
    delimiter: "|"
    encoding: cp1252
    columns:
      organization_number: CustNo
      status: {from: Status, map: {Y: active, N: inactive, NO: inactive}}
      payment_type_ids: {from: PayTypes, split: ","}
    constants: {currency: EUR}
  users:
    file: users.ndjson
  locations:
    api: locations
"""


def write_mapping(tmp_path, text):
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_mapping_loads_with_paths_relative_to_the_file(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path, MAPPING))
    orgs = mapping.source("organizations")
    assert orgs.file == tmp_path / "inbox" / "customers.csv"
    assert (orgs.read.format, orgs.read.delimiter, orgs.read.encoding) == ("csv", "|", "cp1252")
    assert orgs.columns["status"].value_map == {"Y": "active", "N": "inactive", "NO": "inactive"}  # YAML "NO" stays text
    assert orgs.columns["payment_type_ids"].split == ","
    assert orgs.constants == {"currency": "EUR"}
    users = mapping.source("users")
    assert users.read.format == "jsonl" and users.read.encoding is None  # a utf-8 default keeps the cp1252 fallback
    assert mapping.source("locations").api == "locations"
    assert (mapping.settings.users_key, mapping.settings.default_status) == ("organization", "inactive")


@pytest.mark.parametrize("text, message", [
    ("sources: {widgets: {file: w.csv}}", "sources.widgets: unknown entity 'widgets'"),
    ("sources: {organizations: {file: o.csv, columns: {colour: C}}}",
     "sources.organizations.columns.colour: organizations has no field 'colour'"),
    ("sources: {organizations: {file: o.csv, columns: {status: {map: {A: active}}}}}",
     "sources.organizations.columns.status: a column spec needs `from: <source column>`"),
    ("sources: {organizations: {file: o.csv, columns: {organization_name: {from: N, split: ','}}}}",
     "columns.organization_name.split: 'organization_name' is not a list field"),
    ("sources: {organizations: {file: o.xlsx}}", "cannot tell the format of 'o.xlsx'"),
    ("sources: {organizations: {file: o.csv, api: organizations}}", "give exactly one of `file` or `api`"),
    ("sources: {products: {api: products}}", "sources.products.api: 'products' is not one of"),
    ("sources: {organizations: {file: o.csv, delimiter: '::'}}", "must be one character"),
    ("sources: {organizations: {file: o.csv, encoding: klingon}}", "unknown encoding 'klingon'"),
    ("users_key: email", "users_key: 'email' is not one of user, organization"),
    ("sources: {organizations: {file: o.csv, colums: {}}}", "unknown key(s) colums"),
    ("sources: [1, 2]", "sources: expected a mapping"),
    ("sources: {organizations: {file: o.csv", "not valid YAML"),
])
def test_mapping_errors_name_the_file_and_entry(tmp_path, text, message):
    path = write_mapping(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml")


def test_explicitly_mapped_optional_column_absent_is_a_warning(tmp_path, write, run):
    mapping = load_mapping(write_mapping(tmp_path, "sources: {organizations: {file: o.csv, columns: "
                                                   "{organization_number: No, website: Web}}}"))
    out = run("organizations", write("o.csv", "No,organization_name\nC-1,A\n"), mapping.source("organizations"))
    assert out.keys("organization_number") == ["C-1"] and out.issues.empty
    assert any("column 'Web' mapped to website is not in the file" in w for w in out.warnings)


def test_mapped_required_column_missing_names_the_source_column(tmp_path, write, run):
    mapping = load_mapping(write_mapping(tmp_path, "sources: {organizations: {file: o.csv, columns: "
                                                   "{organization_number: CustNo}}}"))
    out = run("organizations", write("o.csv", "Cust,organization_name\nC-1,A\n"), mapping.source("organizations"))
    out.issue(row=None, field="organization_number",
              contains="required column 'organization_number' (mapped from 'CustNo') missing; header has: Cust")


def test_header_names_match_ignoring_case_and_spaces(write, run):
    out = run("organizations", write("o.csv", " Organization_Number ,ORGANIZATION_NAME\nC-1,A\n"))
    assert out.keys("organization_number") == ["C-1"] and out.issues.empty and out.warnings == []
