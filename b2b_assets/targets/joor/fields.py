"""The seed's request table, as the client checks it: field names, maximum lengths, what is required.

This is where the table and the seed's example are reconciled, once: the
table's names win (`customer_contact`, `customer_contact_email`,
`customer_phone`; not the example's `customer_contact_name`, `customer_email`),
and fields only the example shows (`shipping_email`, `location_address_id`)
are not sent. The sandbox keeps its own copy of the table (`sandbox/joor/`),
so a mistake here is caught there rather than mirrored.
"""

from __future__ import annotations

from dataclasses import dataclass

# "Y (if US, CA, JP, or AU)" in the table.
STATE_COUNTRIES = ("US", "CA", "JP", "AU")

# Connection-level fields and their maximum lengths.
CONNECTION_FIELDS: dict[str, int] = {
    "customer_code": 50, "customer_name": 100, "customer_alias": 150,
    "company_number_name": 150, "company_number_code": 100,
    "customer_group_name": 150, "customer_group_code": 100,
    "customer_phone": 50, "customer_contact": 50, "customer_contact_email": 50, "sales_rep_code": 50,
}
CONNECTION_REQUIRED = ("customer_code", "customer_name")


@dataclass(frozen=True)
class Node:
    """A 1-n node of a connection (`buyers` of `buyer` entries), possibly inside a group (`billing`)."""

    name: str
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    group: str | None = None
    label: str | None = None  # the field that names an entry in a rejection reason
    # (field, country field): the field is required when the country is one of STATE_COUNTRIES
    conditional: tuple[str, str] | None = None
    min_entries: int = 0  # the table's 1-n / 1-1 wrappers: a connection needs at least this many
    text_max: int = 50  # every text field of a nested node is at most 50 characters
    not_text: tuple[str, ...] = ()  # booleans and decimals: no length

    @property
    def text_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in self.not_text)


def _address(prefix: str, postal: str) -> tuple[str, ...]:
    return (f"{prefix}_phone", f"{prefix}_address_1", f"{prefix}_address_2", f"{prefix}_city", f"{prefix}_state",
            postal, f"{prefix}_country")


NODES: tuple[Node, ...] = (
    Node("buyers", ("buyer_name", "buyer_title", "buyer_email", "buyer_phone", "buyer_fax"),
         required=("buyer_name", "buyer_email"), label="buyer_email"),
    Node("billing_addresses", ("billing_code", "billing_name", *_address("billing", "billing_postal_code")),
         required=("billing_code", "billing_city", "billing_country"), group="billing", label="billing_code",
         conditional=("billing_state", "billing_country")),
    Node("payment_methods", ("payment_method_name", "payment_method_code"), group="billing",
         label="payment_method_code"),
    Node("shipping_addresses", ("shipping_code", "shipping_name", *_address("shipping", "shipping_postal_code"),
                                "shipping_create_doors"),
         required=("shipping_code", "shipping_city", "shipping_country"), group="shipping", label="shipping_code",
         conditional=("shipping_state", "shipping_country"), not_text=("shipping_create_doors",)),
    Node("shipping_methods", ("shipping_method_name", "shipping_method_code"), group="shipping",
         label="shipping_method_code"),
    Node("customer_locations", _address("location", "location_zip"),
         required=("location_city", "location_country"), label="location_city",
         conditional=("location_zip", "location_country")),
    Node("price_types", ("price_type_currency_code", "price_type_label", "price_type_retail_currency_code"),
         required=("price_type_currency_code", "price_type_label", "price_type_retail_currency_code"),
         label="price_type_label", min_entries=1),
    Node("discounts", ("amount", "line_item_level"), not_text=("amount", "line_item_level")),
    Node("warehouses", ("warehouse_code", "warehouse_name"), label="warehouse_code", min_entries=1),
)
NODE_BY_NAME = {node.name: node for node in NODES}
