"""Contract tests: the mapped ESD records against the seed's field tables, typed out here by hand.

The tables below are copied from seed 004 (and VENDOR_API_NOTES.md where it
corrects the seed) independently of `import_types.py`, so a typo in the specs
cannot hide behind the same typo in the test.
"""

from __future__ import annotations

from decimal import Decimal
from graphlib import TopologicalSorter

import pandas as pd
import pytest
import simplejson

from b2b_assets.targets.squizz.field_map import CHILD_COLUMNS, RECORD_COLUMNS
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, import_type
from b2b_assets.targets.squizz.limits import check_target_limits, rejection_reasons
from b2b_assets.targets.squizz.mapping import to_payload

from .canonical_data import canonical_frames, frame

# type letters: S string, D decimal, Y Y/N string, E enum, A array, L long integer
S, D, Y, E, A, L = "S", "D", "Y", "E", "A", "L"


def t(*rows: tuple) -> dict[str, tuple[str, int | None, bool]]:
    """(name, type, max length, mandatory) rows -> {name: (type, max length, mandatory)}."""
    return {name: (kind, length, mandatory) for name, kind, length, mandatory in rows}


PRICE_ROWS = (("keyProductID", S, 50, True), ("keyPriceLevelID", S, 50, True), ("keySellUnitID", S, 50, True),
              ("price", D, None, True), ("referenceID", S, 50, False), ("referenceType", S, 50, False),
              ("taxRate", D, None, False))
ACCOUNT_ROWS = (("accountName", S, 255, False), ("contactName", S, 80, False), ("orgName", S, 80, False),
                ("email", S, 80, False), ("accountClass", S, 50, False), ("territory", S, 50, False),
                ("shippingMethod", S, 50, False), ("keyPriceLevelID", S, 50, False), ("isOnHold", Y, 1, False),
                ("isOutsideTerms", Y, 1, False), ("isOutsideBalance", Y, 1, False), ("balance", D, None, False),
                ("limit", D, None, False), ("termsType", E, 4, False), ("termsDescription", S, 50, False))

SEED: dict[str, dict] = {
    "taxcodes": {"id": 1, "fields": t(
        ("keyTaxcodeID", S, 50, True), ("taxcode", S, 50, False), ("taxcodePercentageRate", D, None, False),
        ("taxcodeLabel", S, 80, False), ("description", S, 50, False))},
    "price_levels": {"id": 2, "fields": t(("keyPriceLevelID", S, 50, True), ("label", S, 100, False))},
    "products": {"id": 3, "fields": t(
        ("keyProductID", S, 50, True), ("productCode", S, 50, False), ("productSearchCode", S, 255, False),
        ("name", S, 255, False), ("description1", S, 65535, False), ("description2", S, 65535, False),
        ("description3", S, 65535, False), ("description4", S, 65535, False), ("keyTaxcodeID", S, 50, False),
        ("keySellUnitID", S, 50, False), ("stockQuantity", D, None, False), ("stockLowQuantity", D, None, False),
        ("stockNoneQuantity", D, None, False), ("brand", S, 50, False), ("barcode", S, 50, False),
        ("barcodeInner", S, 50, False), ("productClass", S, 50, False), ("isPriceTaxInclusive", Y, 1, False),
        ("condition", E, 2, False), ("conditionNewDateTime", L, 20, False), ("conditionDateTime", L, 20, False),
        ("width", D, None, False), ("height", D, None, False), ("depth", D, None, False),
        ("weight", D, None, False), ("volume", D, None, False), ("sellUnits", A, None, False)),
        "child": ("sellUnits", t(
            ("keySellUnitID", S, 50, True), ("baseQuantity", D, None, True), ("parentQuantity", D, None, False),
            ("sellUnitLabel", S, 50, False), ("isPricedOffBaseUnit", Y, 1, False),
            ("keySellUnitParentID", S, 50, False)))},
    "price_level_unit_prices": {"id": 4, "fields": t(*PRICE_ROWS)},
    "price_level_quantity_prices": {"id": 6, "fields": t(*PRICE_ROWS, ("quantity", D, None, True))},
    "customer_account_prices": {"id": 7, "fields": t(
        ("keyProductID", S, 50, True), ("keyAccountID", S, 50, False), ("keyPriceGroupID", S, 50, False),
        ("keySellUnitID", S, 50, True), ("price", D, None, True), ("quantity", D, None, True),
        ("referenceID", S, 50, False), ("referenceType", S, 50, False), ("taxRate", D, None, False))},
    "alternate_codes": {"id": 9, "fields": t(
        ("keyProductID", S, 50, True), ("alternateCode", S, 50, True), ("isSupplierCode", Y, 1, False),
        ("keySupplierAccountID", S, 50, False), ("keyCustomerAccountID", S, 50, False), ("isUseCode", Y, 1, False))},
    "stock_quantities": {"id": 10, "fields": t(("keyProductID", S, 50, True), ("qtyAvailable", D, None, True))},
    "sales_reps": {"id": 16, "fields": t(
        ("keySalesRepID", S, 50, True), ("salesRepCode", S, 50, False), ("name", S, None, False),
        ("contact", S, None, False), ("isIndividual", Y, 1, False))},
    "customer_accounts": {"id": 17, "fields": t(
        ("keyCustomerAccountID", S, 50, True), ("customerAccountCode", S, 100, True), *ACCOUNT_ROWS,
        ("keySalesRepID", S, 50, False), ("keyPaymentTypeIDs", A, None, False), ("keyLocationIDs", A, None, False),
        ("onHoldAction", E, 6, False), ("outTermsAction", E, 6, False), ("outCreditAction", E, 6, False))},
    "supplier_accounts": {"id": 18, "fields": t(
        ("keySupplierAccountID", S, 50, True), ("supplierAccountCode", S, 100, True), *ACCOUNT_ROWS,
        ("keyPurchaserID", S, 50, False))},
    "locations": {"id": 23, "fields": t(
        ("keyLocationID", S, 50, True), ("locationCode", S, 50, False), ("locationName", S, 50, False),
        ("isGeographic", Y, 1, False), ("isActive", Y, 1, False), ("latitude", D, None, False),
        ("longitude", D, None, False), ("address1", S, 90, False), ("address2", S, 90, False),
        ("address3", S, 90, False), ("region", S, 70, False), ("country", S, 70, False),
        ("postcode", S, 30, False), ("contact", S, 50, False), ("phone", S, 45, False), ("fax", S, 45, False),
        ("productStock", A, None, False),
        # In the seed's example record and the notes' enumerations, not in its table.
        ("email", S, None, False), ("website", S, None, False), ("locationType", E, 11, False)),
        "child": ("productStock", t(
            ("keyProductID", S, 50, True), ("qtyAvailable", D, None, True), ("qtyBackordered", D, None, False),
            ("qtyConsigned", D, None, False), ("qtyOnHand", D, None, False), ("qtyOrdered", D, None, False),
            ("qtyReserved", D, None, False)))},
    "purchasers": {"id": 25, "fields": t(
        ("keyPurchaserID", S, 50, True), ("purchaserCode", S, 100, False), ("name", S, 100, False),
        ("contact", S, 50, False), ("isIndividual", Y, 1, False))},
    "surcharges": {"id": 26, "fields": t(
        ("keySurchargeID", S, 50, True), ("surchargeCode", S, 50, False), ("surchargeLabel", S, 50, False),
        ("description", S, 100, False), ("surchargeType", E, 10, False))},
    "payment_types": {"id": 27, "fields": t(
        ("keyPaymentTypeID", S, 50, True), ("paymentTypeCode", S, 50, False), ("paymentTypeLabel", S, 50, False),
        ("description", S, 100, False), ("paymentMethod", E, 15, False))},
    "sell_units": {"id": 28, "fields": t(
        ("keySellUnitID", S, 50, True), ("sellUnitCode", S, 50, False), ("sellUnitLabel", S, 50, False),
        ("baseQuantity", D, None, False), ("parentQuantity", D, None, False), ("isBaseUnit", Y, 1, False),
        ("keySellUnitParentID", S, 50, False))},
}
# The key fields of each type, from the seed's descriptions of what identifies a record.
KEYS = {
    "taxcodes": ("keyTaxcodeID",), "price_levels": ("keyPriceLevelID",), "sell_units": ("keySellUnitID",),
    "products": ("keyProductID",), "price_level_unit_prices": ("keyProductID", "keyPriceLevelID", "keySellUnitID"),
    "price_level_quantity_prices": ("keyProductID", "keyPriceLevelID", "keySellUnitID", "quantity"),
    "customer_account_prices": ("keyProductID", "keyAccountID", "keyPriceGroupID", "keySellUnitID", "quantity"),
    "alternate_codes": ("keyProductID", "alternateCode"), "stock_quantities": ("keyProductID",),
    "sales_reps": ("keySalesRepID",), "customer_accounts": ("keyCustomerAccountID",),
    "supplier_accounts": ("keySupplierAccountID",), "locations": ("keyLocationID",),
    "purchasers": ("keyPurchaserID",), "surcharges": ("keySurchargeID",), "payment_types": ("keyPaymentTypeID",),
}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return canonical_frames()


def esd_records(name: str, frames: dict) -> list[dict]:
    payload = to_payload(name, frames)
    return sent_records(payload, payload.records)


def sent_records(payload, rows) -> list[dict]:
    """The dataRecords of a document carrying `rows`, as SQUIZZ reads them (decimals exact)."""
    return simplejson.loads(payload.data_records(rows).text, use_decimal=True)


def check_value(type_name: str, field: str, value: object, spec: tuple[str, int | None, bool]) -> None:
    kind, length, _ = spec
    where = f"{type_name}.{field}={value!r}"
    if kind in (S, E):
        assert isinstance(value, str) and value, where
        assert length is None or len(value) <= length, where
    elif kind == Y:
        assert value in ("Y", "N"), where
    elif kind == D:
        assert isinstance(value, (int, Decimal)) and not isinstance(value, bool), where  # exact, never float
    elif kind == L:
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == A:
        assert isinstance(value, list), where


# --- the import type table ----------------------------------------------------------------------------------------

def test_the_sixteen_import_types_and_their_ids_follow_the_notes():
    assert {spec.name: spec.type_id for spec in IMPORT_TYPES} == {name: s["id"] for name, s in SEED.items()}
    assert sorted(spec.type_id for spec in IMPORT_TYPES) == [1, 2, 3, 4, 6, 7, 9, 10, 16, 17, 18, 23, 25, 26, 27, 28]


@pytest.mark.parametrize("name", list(SEED))
def test_key_and_data_fields_are_seed_fields(name):
    spec, seed = import_type(name), SEED[name]
    assert spec.key_fields == KEYS[name]
    assert set(spec.data_fields) <= set(seed["fields"]), set(spec.data_fields) - set(seed["fields"])
    assert set(spec.key_fields) <= set(spec.data_fields)
    mandatory = {f for f, (_, _, m) in seed["fields"].items() if m}
    assert mandatory <= set(spec.data_fields), f"{name} does not manage mandatory fields {mandatory}"
    if "child" in seed:
        child_field, child_table = seed["child"]
        assert spec.child_field == child_field
        assert set(spec.child_data_fields) <= set(child_table)
    else:
        assert spec.child_field is None and not spec.child_data_fields


@pytest.mark.parametrize("name", list(SEED))
def test_data_fields_are_exactly_the_fields_with_a_canonical_source(name):
    spec = import_type(name)
    assert set(spec.record_fields) == set(RECORD_COLUMNS[name])
    if spec.child_field:
        assert set(spec.child_data_fields) == set(CHILD_COLUMNS[name][2])


def dependency_order() -> list[str]:
    graph = {spec.name: set(spec.depends_on) for spec in IMPORT_TYPES}
    return list(TopologicalSorter(graph).static_order())


@pytest.mark.parametrize("before, after", [
    ("taxcodes", "products"), ("sell_units", "products"),
    ("products", "price_level_unit_prices"), ("products", "price_level_quantity_prices"),
    ("products", "customer_account_prices"), ("products", "stock_quantities"), ("products", "locations"),
    ("products", "alternate_codes"),
    ("price_levels", "price_level_unit_prices"), ("price_levels", "price_level_quantity_prices"),
    ("sell_units", "price_level_unit_prices"), ("sell_units", "price_level_quantity_prices"),
    ("sell_units", "customer_account_prices"),
    ("locations", "customer_accounts"), ("price_levels", "customer_accounts"), ("sales_reps", "customer_accounts"),
    ("payment_types", "customer_accounts"), ("customer_accounts", "customer_account_prices"),
    ("customer_accounts", "alternate_codes"), ("supplier_accounts", "alternate_codes"),
    ("purchasers", "supplier_accounts"), ("price_levels", "supplier_accounts"),
])
def test_references_order_imports_as_the_seed_tips_require(before, after):
    order = dependency_order()
    assert order.index(before) < order.index(after)
    # Not just by accident of a topological tie-break: `after` really depends on `before`, directly or not.
    reachable, todo = set(), [after]
    while todo:
        for parent in import_type(todo.pop()).depends_on:
            if parent not in reachable:
                reachable.add(parent)
                todo.append(parent)
    assert before in reachable


def test_import_types_are_listed_in_an_order_that_satisfies_every_reference():
    position = {spec.name: i for i, spec in enumerate(IMPORT_TYPES)}
    for spec in IMPORT_TYPES:
        for parent in spec.depends_on:
            assert position[parent] < position[spec.name], (parent, spec.name)


def test_price_group_members_are_a_reference_of_customer_account_pricing():
    refs = import_type("customer_account_prices").references
    assert any(r.import_type == "customer_accounts" and r.many for r in refs)


# --- mapped records against the seed tables -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SEED))
def test_mapped_records_conform_to_the_seed_table(name, frames):
    seed = SEED[name]
    records = esd_records(name, frames)
    assert records, f"the fixture produces no {name} records"
    simplejson.dumps(records, allow_nan=False, use_decimal=True)  # JSON-ready as the envelope encodes it
    for record in records:
        for field, value in record.items():
            assert field in seed["fields"], f"{name}: {field} is not a seed field"
            if "child" in seed and field == seed["child"][0]:
                child_table = seed["child"][1]
                for nested in value:
                    for child_field, child_value in nested.items():
                        assert child_field in child_table, f"{name}.{field}[].{child_field}"
                        check_value(name, child_field, child_value, child_table[child_field])
                    for must, (_, _, mandatory) in child_table.items():
                        assert not mandatory or must in nested, f"{name}.{field}[] lacks {must}"
            else:
                check_value(name, field, value, seed["fields"][field])
        for field, (_, _, mandatory) in seed["fields"].items():
            assert not mandatory or field in record, f"{name} record lacks mandatory {field}"
        key_values = [record.get(k) for k in KEYS[name]]
        assert any(key_values), f"{name} record has no key"


@pytest.mark.parametrize("name", list(SEED))
def test_records_frame_has_a_record_key_and_one_column_per_data_field(name, frames):
    spec = import_type(name)
    payload = to_payload(name, frames)
    sent_columns = [c for c in payload.records.columns if not c.startswith("_")]
    assert sent_columns == ["record_key", *spec.record_fields]
    assert payload.records["record_key"].is_unique
    parts = payload.records[list(spec.key_fields)]
    parts = parts.apply(lambda c: c.map(lambda v: format(v.normalize(), "f"), na_action="ignore")  # 10, not 10.0000000000
                        if c.dtype == "decimal128(38, 10)[pyarrow]" else c)
    joined = parts.astype("string").fillna("").agg("\x1f".join, axis=1)
    assert payload.records["record_key"].tolist() == joined.tolist()


def test_taxcodes_map_field_by_field(frames):
    assert esd_records("taxcodes", frames) == [
        {"keyTaxcodeID": "GST", "taxcode": "GST", "taxcodePercentageRate": 10.0, "taxcodeLabel": "Goods and Services",
         "description": "GST 10%"},
        {"keyTaxcodeID": "FREE", "taxcode": "FRE", "taxcodePercentageRate": 0.0}]


def test_products_carry_yes_no_flags_and_nested_sell_units(frames):
    p1, p2 = esd_records("products", frames)
    assert p1["isPriceTaxInclusive"] == "N" and p2["isPriceTaxInclusive"] == "Y"
    assert p1["productCode"] == "SKU-1" and p1["keyTaxcodeID"] == "GST" and p1["barcodeInner"] == "234"
    assert p1["sellUnits"] == [
        {"keySellUnitID": "EA", "baseQuantity": 1.0, "sellUnitLabel": "Each", "isPricedOffBaseUnit": "N"},
        {"keySellUnitID": "PK", "baseQuantity": 6.0, "parentQuantity": 6.0, "sellUnitLabel": "Pack of 6",
         "isPricedOffBaseUnit": "Y", "keySellUnitParentID": "EA"}]
    assert p2["sellUnits"] == []  # managed array: empty means none
    assert "stockQuantity" not in p1  # left to the stock quantities import


def test_sell_units_type_28(frames):
    each, pack = esd_records("sell_units", frames)
    assert each["isBaseUnit"] == "Y" and pack["isBaseUnit"] == "N" and pack["keySellUnitParentID"] == "EA"


def test_locations_use_country_names_city_as_address3_and_nest_stock(frames):
    payload = to_payload("locations", frames)
    w1, s2 = sent_records(payload, payload.records)
    assert w1["country"] == "Australia" and s2["country"] == "United Kingdom"
    assert w1["address3"] == "Melbourne" and w1["locationType"] == "WAREHOUSE"
    assert w1["isActive"] == "Y" and w1["latitude"] == Decimal("-37.81")
    assert [s["keyProductID"] for s in w1["productStock"]] == ["P1", "P2"]
    assert w1["productStock"][0] == {"keyProductID": "P1", "qtyAvailable": Decimal("10.1"), "qtyOnHand": 12.0,
                                     "qtyOrdered": 1.0, "qtyBackordered": 0.0, "qtyReserved": 1.0,
                                     "qtyConsigned": 0.0}
    assert s2["productStock"] == [{"keyProductID": "P1", "qtyAvailable": Decimal("0.2")}]


def test_stock_quantities_sum_the_sites(frames):
    assert esd_records("stock_quantities", frames) == [
        {"keyProductID": "P1", "qtyAvailable": Decimal("10.3")}, {"keyProductID": "P2", "qtyAvailable": -4.0}]


def test_customer_accounts_split_lists_and_fall_back_to_the_organization_number(frames):
    c1, c2 = esd_records("customer_accounts", frames)
    assert c1["keyPaymentTypeIDs"] == ["CC", "AC"] and c1["keyLocationIDs"] == ["W1", "S2"]
    assert c1["customerAccountCode"] == "ACME" and c2["customerAccountCode"] == "C2"
    assert c1["limit"] == 1000.0 and c1["isOutsideTerms"] == "Y" and c1["outTermsAction"] == "BLOCK"
    assert c1["outCreditAction"] == "OFF" and c1["accountName"].startswith("Acme")
    assert "keyPaymentTypeIDs" not in c2 and "phone" not in c1


def test_customer_account_prices_carry_price_groups(frames):
    payload = to_payload("customer_account_prices", frames)
    assert payload.price_groups == {"G1": ["C1", "C2"]}
    account_price, group_price = sent_records(payload, payload.records)
    assert account_price["keyAccountID"] == "C1" and "keyPriceGroupID" not in account_price
    assert group_price["keyPriceGroupID"] == "G1" and "keyAccountID" not in group_price
    assert "_priceGroupAccountIDs" not in group_price  # planner context, never sent
    assert payload.price_groups_for(payload.records.iloc[:1]) == {}
    assert payload.price_groups_for(payload.records.iloc[1:]) == {"G1": ["C1", "C2"]}
    assert payload.records["_priceGroupAccountIDs"].tolist() == [None, ["C1", "C2"]]


def test_alternate_codes_link_customer_accounts_by_organization_number(frames):
    supplier_code, customer_code = esd_records("alternate_codes", frames)
    assert supplier_code["isSupplierCode"] == "Y" and supplier_code["keySupplierAccountID"] == "SUP1"
    assert customer_code["keyCustomerAccountID"] == "C1"


def test_quantity_prices_are_keyed_by_quantity(frames):
    payload = to_payload("price_level_quantity_prices", frames)
    assert payload.records["record_key"].tolist() == ["P1\x1fPL1\x1fEA\x1f10", "P1\x1fPL1\x1fEA\x1f20.5"]


def test_data_records_handle_any_slice(frames):
    payload = to_payload("products", frames)
    (only_p2,) = sent_records(payload, payload.records.iloc[[1]])
    assert only_p2["keyProductID"] == "P2" and only_p2["sellUnits"] == []


def test_missing_source_frame_is_named():
    with pytest.raises(ValueError, match="product_sell_units"):
        to_payload("products", {"products": frame("products", [{"product_id": "P", "name": "n"}])})


# --- SQUIZZ's own limits -------------------------------------------------------------------------------------------

def test_a_value_the_model_accepts_but_squizz_does_not_is_rejected_for_squizz_only(frames):
    sites = pd.concat([frames["sites"], frame("sites", [{"site_id": "LONG", "name": "N" * 50 + "ten chars!"}])])
    payload = to_payload("locations", {**frames, "sites": sites})
    problems = check_target_limits("locations", payload)
    assert problems["record_key"].tolist() == ["LONG"]
    assert problems["field"].tolist() == ["locationName"]
    assert "60 characters; SQUIZZ accepts at most 50" in problems["reason"].iloc[0]
    assert rejection_reasons(problems).to_dict() == {"LONG": problems["reason"].iloc[0]}


def test_a_200_character_organization_name_is_fine_but_a_long_email_is_not(frames):
    organizations = pd.concat([frames["organizations"], frame("organizations", [
        {"organization_number": "C3", "organization_name": "Gamma", "email": "a" * 80 + "@example.com"}])])
    problems = check_target_limits("customer_accounts", to_payload("customer_accounts",
                                                                   {**frames, "organizations": organizations}))
    assert problems[["record_key", "field"]].values.tolist() == [["C3", "email"]]


def test_valid_fixture_has_no_limit_problems(frames):
    for spec in IMPORT_TYPES:
        assert check_target_limits(spec, to_payload(spec, frames)).empty, spec.name


def test_nested_and_conditional_limits(frames):
    sell_units = pd.concat([frames["product_sell_units"], frame("product_sell_units", [
        {"product_id": "P2", "sell_unit_id": "EA", "label": "L" * 50, "base_quantity": 1e11}])])
    problems = check_target_limits("products", to_payload("products", {**frames, "product_sell_units": sell_units}))
    assert problems[["record_key", "field"]].values.tolist() == [["P2", "sellUnits[].baseQuantity"]]

    prices = pd.concat([frames["customer_prices"], frame("customer_prices", [
        {"product_id": "P1", "sell_unit_id": "EA", "quantity": 1, "price": 1}])])
    problems = check_target_limits("customer_account_prices",
                                   to_payload("customer_account_prices", {**frames, "customer_prices": prices}))
    assert problems["field"].tolist() == ["keyAccountID|keyPriceGroupID"]
