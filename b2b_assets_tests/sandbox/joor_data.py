"""Connections in the seed's table form, and a hand-moved clock, for the JOOR sandbox and client tests."""

from __future__ import annotations

from typing import Any

from lxml import etree


class FakeClock:
    """Wall-clock stand-in the tests move by hand, so job timing needs no sleeping."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def connection(code: str = "JBNY", **overrides: Any) -> dict[str, Any]:
    """A connection with every node of the table, in the table's field names."""
    record = {
        "customer_code": code, "customer_name": "JboutiqueNY", "customer_alias": "Alias",
        "customer_contact": "Kristen Leone", "customer_contact_email": "kl@jb.example", "customer_phone": "212-555-1212",
        "company_number_name": "Company1", "company_number_code": "c1",
        "customer_group_name": "Specialty", "customer_group_code": "SPC", "sales_rep_code": "AB",
        "warehouses": [{"warehouse_name": "Test Warehouse", "warehouse_code": "TW"}],
        "buyers": [{"buyer_name": "Test Buyer", "buyer_email": "tb@jb.example", "buyer_title": "Buyer"}],
        "billing": {
            "billing_addresses": [{"billing_code": "JBNY01", "billing_name": "JboutiqueNY", "billing_address_1": "708 Willow Ave",
                                   "billing_city": "Hoboken", "billing_state": "NJ", "billing_postal_code": "07030",
                                   "billing_country": "United States"}],
            "payment_methods": [{"payment_method_name": "Credit Card", "payment_method_code": "cc"}],
        },
        "shipping": {
            "shipping_addresses": [{"shipping_code": "JBNY1", "shipping_city": "New York", "shipping_state": "NY",
                                    "shipping_country": "US", "shipping_create_doors": True}],
            "shipping_methods": [{"shipping_method_name": "UPS Ground", "shipping_method_code": "ups_ground"}],
        },
        "price_types": [{"price_type_label": "Europe", "price_type_currency_code": "EUR",
                         "price_type_retail_currency_code": "EUR"}],
        "customer_locations": [{"location_address_1": "1 Main St", "location_city": "New York", "location_zip": "10005",
                                "location_country": "United States"}],
        "discounts": [{"amount": 4.0, "line_item_level": True}],
    }
    record.update(overrides)
    return record


def to_xml(connections: list[dict[str, Any]]) -> bytes:
    """The seed's XML form: 1-n nodes as <buyers><buyer>…, booleans True/False."""
    items = {"buyers": "buyer", "warehouses": "warehouse", "billing_addresses": "billing_address",
             "payment_methods": "payment_method", "shipping_addresses": "shipping_address",
             "shipping_methods": "shipping_method", "price_types": "price_type",
             "customer_locations": "customer_location", "discounts": "discount"}

    def fill(parent: etree._Element, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                fill(etree.SubElement(parent, name), inner)
        elif isinstance(value, list):
            for inner in value:
                fill(etree.SubElement(parent, items[parent.tag]), inner)
        elif isinstance(value, bool):
            parent.text = "True" if value else "False"
        else:
            parent.text = str(value)

    root = etree.Element("bulk_connections")
    for record in connections:
        fill(etree.SubElement(root, "connection"), record)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
