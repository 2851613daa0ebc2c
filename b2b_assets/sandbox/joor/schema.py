"""The Bulk Connection API's request table (seed 002), as data the sandbox validates against.

This is the vendor's side of the table, kept apart from the client's copy in
`targets/joor/` on purpose: a client mistake must not be mirrored by the
emulator that is meant to catch it.

Where the seed's example and its table disagree (`customer_contact_name` and
`customer_email` in the example; `customer_contact`, `customer_contact_email`
in the table; `shipping_email` and `location_address_id`, which the table
lacks), the table wins: the sandbox stores only the table's fields and lists
any other field it was sent under the job's `ignored_fields`, as JOOR ignores
what it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The table's "Y (if US, CA, JP, or AU)".
STATE_COUNTRIES = frozenset({"US", "CA", "JP", "AU"})


class Kind(StrEnum):
    TEXT = "Any String"
    BOOLEAN = "Boolean"
    DECIMAL = "Decimal"


@dataclass(frozen=True)
class FieldRule:
    name: str
    required: bool = False
    max_length: int | None = 50
    kind: Kind = Kind.TEXT
    required_in_countries_of: str | None = None  # the country field whose value makes this one required
    is_country: bool = False


@dataclass(frozen=True)
class ListNode:
    """A wrapper element holding 1-n items: `<buyers><buyer>…</buyer></buyers>`, a JSON array in JSON."""

    name: str
    item: str
    fields: tuple[FieldRule, ...]
    required: bool = False  # the wrapper itself must be there (1-1 / 1-n); items are always 1-n


@dataclass(frozen=True)
class GroupNode:
    """A 0-1 element grouping lists: `billing` holds billing_addresses and payment_methods."""

    name: str
    lists: tuple[ListNode, ...]


def _text(name: str, max_length: int = 50, required: bool = False) -> FieldRule:
    return FieldRule(name, required=required, max_length=max_length)


def _address(prefix: str, postal: str, conditional: str) -> tuple[FieldRule, ...]:
    """The address columns shared by shipping, billing and customer locations; `conditional` names the
    field the table makes required in US, CA, JP and AU (state for addresses, zip for locations)."""
    country = f"{prefix}_country"
    fields = [
        _text(f"{prefix}_phone"), _text(f"{prefix}_address_1"), _text(f"{prefix}_address_2"),
        _text(f"{prefix}_city", required=True), _text(f"{prefix}_state"), _text(postal),
        FieldRule(country, required=True, is_country=True),
    ]
    return tuple(FieldRule(f.name, f.required, f.max_length, f.kind, country, f.is_country)
                 if f.name == conditional else f for f in fields)


CONNECTION_FIELDS: tuple[FieldRule, ...] = (
    _text("customer_name", 100, required=True),
    _text("customer_code", 50, required=True),
    _text("customer_alias", 150),
    _text("company_number_name", 150),
    _text("company_number_code", 100),
    _text("customer_group_name", 150),
    _text("customer_group_code", 100),
    _text("customer_phone"),
    _text("customer_contact"),
    _text("customer_contact_email"),
    _text("sales_rep_code"),
)

BUYERS = ListNode("buyers", "buyer", (
    _text("buyer_name", required=True), _text("buyer_title"), _text("buyer_email", required=True),
    _text("buyer_phone"), _text("buyer_fax"),
))
SHIPPING = GroupNode("shipping", (
    ListNode("shipping_addresses", "shipping_address", (
        _text("shipping_name"), _text("shipping_code", required=True),
        *_address("shipping", "shipping_postal_code", "shipping_state"),
        FieldRule("shipping_create_doors", kind=Kind.BOOLEAN, max_length=None),
    )),
    ListNode("shipping_methods", "shipping_method", (_text("shipping_method_name"), _text("shipping_method_code"))),
))
BILLING = GroupNode("billing", (
    ListNode("billing_addresses", "billing_address", (
        _text("billing_name"), _text("billing_code", required=True),
        *_address("billing", "billing_postal_code", "billing_state"),
    )),
    ListNode("payment_methods", "payment_method", (_text("payment_method_name"), _text("payment_method_code"))),
))
CUSTOMER_LOCATIONS = ListNode("customer_locations", "customer_location",
                              _address("location", "location_zip", "location_zip"))
PRICE_TYPES = ListNode("price_types", "price_type", (
    _text("price_type_currency_code", required=True), _text("price_type_label", required=True),
    _text("price_type_retail_currency_code", required=True),
), required=True)
DISCOUNTS = ListNode("discounts", "discount", (
    FieldRule("amount", kind=Kind.DECIMAL, max_length=None),
    FieldRule("line_item_level", kind=Kind.BOOLEAN, max_length=None),
))
WAREHOUSES = ListNode("warehouses", "warehouse", (_text("warehouse_code"), _text("warehouse_name")), required=True)

CONNECTION_LISTS: tuple[ListNode, ...] = (BUYERS, CUSTOMER_LOCATIONS, PRICE_TYPES, DISCOUNTS, WAREHOUSES)
CONNECTION_GROUPS: tuple[GroupNode, ...] = (SHIPPING, BILLING)
