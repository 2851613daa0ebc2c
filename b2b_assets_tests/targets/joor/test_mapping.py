"""The canonical -> JOOR connection mapping: fields, nesting, JOOR's own limits, both encodings."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from lxml import etree

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.targets.core.plan import payload_hash
from b2b_assets.targets.joor.encoding import JSON, XML, encode_connections
from b2b_assets.targets.joor.fields import CONNECTION_FIELDS, NODES
from b2b_assets.targets.joor.customer_file import to_file_payload
from b2b_assets.targets.joor.json_documents import json_connections
from b2b_assets.targets.joor.mapping import documents, limits, to_payload


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    return cast_frame(entity(name), pd.DataFrame(rows))


def hub(**changes: list[dict]) -> dict[str, pd.DataFrame]:
    rows = {name: hub_rows(name) for name in HUB_ROWS} | changes
    return {name: frame(name, value) for name, value in rows.items()}


def hub_rows(name: str) -> list[dict]:
    return [dict(row) for row in HUB_ROWS[name]]


HUB_ROWS: dict[str, list[dict]] = {
    "organizations": [
        {"organization_number": "C1", "organization_name": "Boutique One", "alias": "B1", "phone": "+1 212 555",
         "email": "shop@one.example", "contact_name": "Kim Lee", "sales_rep_id": "R1", "currency": "USD",
         "price_type_label": "Wholesale USD", "retail_currency": "USD", "customer_group_code": "SPC",
         "customer_group_name": "Specialty", "company_number_code": "G1", "company_number_name": "Group One",
         "payment_type_ids": "CC|ACCT", "site_ids": "W1", "shipping_method": "ups_ground",
         "discount_percent": 4, "discount_line_item_level": True},
        {"organization_number": "C2", "organization_name": "Shop Two", "currency": "EUR",
         "price_type_label": "Europe", "retail_currency": "EUR", "site_ids": "W2"},
    ],
    "users": [
        {"user_key": "U1", "organization_number": "C1", "name": "Ann Buyer", "email": "ann@one.example",
         "title": "Buyer", "phone": "+1 1", "active": True},
        {"user_key": "U2", "organization_number": "C1", "name": "Gone Buyer", "email": "gone@one.example",
         "active": False},
        {"user_key": "U3", "organization_number": "C2", "name": "Bo", "email": "bo@two.example"},
    ],
    "locations": [
        {"organization_number": "C1", "location_id": "C1-B", "location_name": "Accounts", "address1": "1 Main St",
         "city": "New York", "state": "NY", "postal_code": "10005", "country": "US", "address_type": "billing",
         "is_primary": True},
        {"organization_number": "C1", "location_id": "C1-S", "location_name": "Store", "address1": "2 Main St",
         "city": "New York", "state": "NY", "country": "US", "address_type": "both"},
        {"organization_number": "C1", "location_id": "C1-X", "location_name": "Closed", "address1": "3 Main St",
         "city": "New York", "state": "NY", "country": "US", "status": "inactive"},
    ],
    "sales_reps": [{"sales_rep_id": "R1", "code": "AB", "name": "Al"}],
    "payment_types": [{"payment_type_id": "CC", "code": "cc", "label": "Credit Card"},
                      {"payment_type_id": "ACCT", "label": "On account"}],
    "sites": [{"site_id": "W1", "code": "NYC", "name": "New York DC"}, {"site_id": "W2", "name": "Lyon"}],
}


def test_a_connection_carries_every_field_the_model_can_fill() -> None:
    payload = to_payload(hub())
    doc = {d["customer_code"]: d for d in documents(payload, payload.records)}["C1"]
    assert doc == {
        "customer_code": "C1", "customer_name": "Boutique One", "customer_alias": "B1",
        "company_number_name": "Group One", "company_number_code": "G1", "customer_group_name": "Specialty",
        "customer_group_code": "SPC", "customer_phone": "+1 212 555", "customer_contact": "Kim Lee",
        "customer_contact_email": "shop@one.example", "sales_rep_code": "AB",
        "buyers": [{"buyer_name": "Ann Buyer", "buyer_title": "Buyer", "buyer_email": "ann@one.example",
                    "buyer_phone": "+1 1"}],
        "billing": {
            "billing_addresses": [
                {"billing_code": "C1-B", "billing_name": "Accounts", "billing_address_1": "1 Main St",
                 "billing_city": "New York", "billing_state": "NY", "billing_postal_code": "10005",
                 "billing_country": "US"},
                {"billing_code": "C1-S", "billing_name": "Store", "billing_address_1": "2 Main St",
                 "billing_city": "New York", "billing_state": "NY", "billing_country": "US"}],
            "payment_methods": [{"payment_method_code": "cc", "payment_method_name": "Credit Card"},
                                {"payment_method_code": "ACCT", "payment_method_name": "On account"}],
        },
        "shipping": {
            "shipping_addresses": [{"shipping_code": "C1-S", "shipping_name": "Store", "shipping_address_1": "2 Main St",
                                    "shipping_city": "New York", "shipping_state": "NY", "shipping_country": "US"}],
            "shipping_methods": [{"shipping_method_code": "ups_ground"}],
        },
        "customer_locations": [{"location_address_1": "1 Main St", "location_city": "New York",
                                "location_state": "NY", "location_zip": "10005", "location_country": "US"}],
        "price_types": [{"price_type_currency_code": "USD", "price_type_label": "Wholesale USD",
                         "price_type_retail_currency_code": "USD"}],
        "discounts": [{"amount": 4.0, "line_item_level": True}],
        "warehouses": [{"warehouse_code": "NYC", "warehouse_name": "New York DC"}],
    }
    assert set(CONNECTION_FIELDS) <= set(doc)
    assert limits(payload).empty


def test_joors_own_limits_refuse_a_record_for_joor_only_and_say_why() -> None:
    frames = hub(
        organizations=[
            {"organization_number": "LONG", "organization_name": "N" * 101, "currency": "USD",
             "price_type_label": "W", "retail_currency": "USD", "site_ids": "W1"},
            {"organization_number": "BARE", "organization_name": "No price type, no warehouse"},
            {"organization_number": "NOSTATE", "organization_name": "US without a state", "currency": "USD",
             "price_type_label": "W", "site_ids": "W1"},
        ],
        users=[], sales_reps=[], payment_types=[],
        locations=[{"organization_number": "NOSTATE", "location_id": "L1", "location_name": "Shop",
                    "address1": "1 Long Street Name That Goes On And On Past Fifty Chars", "city": "Austin",
                    "country": "US", "address_type": "shipping", "is_primary": True}],
    )
    reasons = limits(to_payload(frames))
    assert reasons["LONG"] == "customer_name is 101 characters; JOOR accepts at most 100"
    assert reasons["BARE"] == ("price_types: JOOR needs at least 1; the hub has none; "
                               "warehouses: JOOR needs at least 1; the hub has none")
    nostate = reasons["NOSTATE"]
    assert "shipping_addresses.shipping_address_1 is 55 characters; JOOR accepts at most 50 (L1)" in nostate
    assert "shipping_addresses.shipping_state is required by JOOR when the country is US (L1)" in nostate
    assert "customer_locations.location_zip is required by JOOR when the country is US" in nostate
    assert "price_types.price_type_retail_currency_code is required by JOOR and is empty (W)" in nostate


def test_one_changed_buyer_changes_only_its_connections_hash() -> None:
    before = to_payload(hub())
    users = [{"user_key": "U1", "organization_number": "C1", "name": "Ann Buyer", "email": "ann@one.example",
              "title": "Head buyer", "phone": "+1 1"},
             {"user_key": "U3", "organization_number": "C2", "name": "Bo", "email": "bo@two.example"}]
    after = to_payload(hub(users=users))
    old, new = payload_hash(before.records, before.children), payload_hash(after.records, after.children)
    changed = before.records["record_key"][(old != new).to_numpy()].tolist()
    assert changed == ["C1"]


@pytest.mark.parametrize("mapping", [to_payload, to_file_payload], ids=["connections", "customer_sync_file"])
def test_a_connection_hashes_the_same_mapped_alone_as_with_every_other(mapping) -> None:
    # The core maps a key range of organizations at a time (with their users and locations, the lookups
    # whole): a connection's hash must not depend on which other connections share its range.
    every = mapping(hub())
    together = dict(zip(every.records["record_key"], payload_hash(every.records, every.children)))
    for code in ("C1", "C2"):
        alone = mapping(hub(**{name: [r for r in hub_rows(name) if r["organization_number"] == code]
                               for name in ("organizations", "users", "locations")}))
        assert list(alone.children.columns) == list(every.children.columns)
        assert payload_hash(alone.records, alone.children).tolist() == [together[code]], code


def test_json_booleans_are_true_false_and_xml_booleans_are_True_False() -> None:
    payload = to_payload(hub())
    docs = documents(payload, payload.records.iloc[:1])
    as_json = json.loads(encode_connections(docs, JSON))
    assert as_json["bulk_connections"]["connection"][0]["discounts"] == [{"amount": 4.0, "line_item_level": True}]
    root = etree.fromstring(encode_connections(docs, XML))
    assert root.findtext("connection/discounts/discount/line_item_level") == "True"
    assert root.findtext("connection/discounts/discount/amount") == "4.0"
    assert [e.findtext("buyer_email") for e in root.findall("connection/buyers/buyer")] == ["ann@one.example"]
    assert root.findtext("connection/billing/payment_methods/payment_method/payment_method_code") == "cc"


def test_every_nested_node_of_the_table_is_produced_from_the_hub() -> None:
    payload = to_payload(hub())
    assert set(payload.children["node"]) == {node.name for node in NODES}


def test_the_json_body_written_from_columns_is_the_nested_documents_json() -> None:
    # A third customer with payment methods but no address (a billing group with one node), and text a JSON
    # writer must escape; the batch out of key order, as the planner may hand it over.
    organizations = [*hub_rows("organizations"), {
        "organization_number": "C3", "organization_name": 'Quote " back\\slash\ttab ünï', "currency": "USD",
        "price_type_label": "Retail", "retail_currency": "USD", "payment_type_ids": "ACCT", "site_ids": "W1|W2",
        "discount_percent": 12.5, "discount_line_item_level": False}]
    payload = to_payload(hub(organizations=organizations))
    rows = payload.records.iloc[[2, 0, 1]]
    body = encode_connections(json_connections(payload, rows), JSON)
    expected = {"bulk_connections": {"connection": documents(payload, rows)}}
    assert body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(body) == json.loads(encode_connections(documents(payload, rows), JSON))
