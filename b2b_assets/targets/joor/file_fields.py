"""The Customer Sync file's table (seed 001), as the file encoding reads it: columns, sources, limits.

The connection mapping is the Bulk Connection API's (`mapping.to_payload`):
this module only says which payload field fills which file column. Columns
ending in `_%` in the seed repeat with a 1-based index (`buyer_name_1`,
`buyer_email_1`, `buyer_name_2`, ...; VENDOR_API_NOTES.md). The file has one
row per billing (`B`) or shipping (`S`) address, so an address's own columns
carry index 1 on its row and stay empty on rows of the other type.

Columns the model has nothing for are left out of the file: `create_doors`
(no door flag in the model). The sandbox keeps its own copy of the table
(`sandbox/joor_ftp/intake.py`), so a mistake here is caught there.
"""

from __future__ import annotations

from dataclasses import dataclass

# The customer's own columns (repeated on each of its rows): file column -> payload records column.
CUSTOMER_COLUMNS: dict[str, str] = {
    "profile_name": "customer_name", "customer_code": "customer_code", "customer_alias": "customer_alias",
    "alternate_name": "alternate_name", "website": "website",
    "company_number_name": "company_number_name", "company_number_code": "company_number_code",
    "customer_group_name": "customer_group_name", "customer_group_code": "customer_group_code",
}
DISCOUNT_COLUMNS = ("discount", "discount_line_item_level")  # from the one `discounts` entry
SALES_REP_COLUMN = "sales_rep_code"


@dataclass(frozen=True)
class Repeated:
    """A 1-n node written as numbered columns: stem -> the node entry's field (`buyer_name` -> buyer_name)."""

    node: str
    columns: dict[str, str]


REPEATED: tuple[Repeated, ...] = (
    Repeated("warehouses", {"warehouse_name": "warehouse_name", "warehouse_code": "warehouse_code"}),
    Repeated("buyers", {"buyer_name": "buyer_name", "buyer_email": "buyer_email"}),
    Repeated("payment_methods", {"payment_terms": "payment_method_name", "payment_terms_code": "payment_method_code"}),
    Repeated("shipping_methods", {"shipping_terms": "shipping_method_code"}),
    Repeated("price_types", {"price_type_currency": "price_type_currency_code", "price_type_name": "price_type_label"}),
)

ADDRESS_TYPE = "address_type"


@dataclass(frozen=True)
class AddressKind:
    """The addresses of one row type: `S` rows from shipping_addresses, `B` rows from billing_addresses."""

    row_type: str
    node: str
    columns: dict[str, str]  # stem -> the node entry's field
    code: str
    country: str
    state: str


def _address(prefix: str, with_contact: bool) -> dict[str, str]:
    columns = {f"{prefix}_code": f"{prefix}_code", f"{prefix}_name": f"{prefix}_name",
               f"{prefix}_address_1": f"{prefix}_address_1", f"{prefix}_address_2": f"{prefix}_address_2",
               f"{prefix}_city": f"{prefix}_city", f"{prefix}_state": f"{prefix}_state",
               f"{prefix}_zip": f"{prefix}_postal_code", f"{prefix}_country": f"{prefix}_country"}
    if with_contact:  # the file has e-mail and phone for shipping addresses only
        columns.update({f"{prefix}_email": f"{prefix}_email", f"{prefix}_phone": f"{prefix}_phone"})
    return columns


ADDRESSES: tuple[AddressKind, ...] = (
    AddressKind("S", "shipping_addresses", _address("shipping", True), "shipping_code", "shipping_country",
                "shipping_state"),
    AddressKind("B", "billing_addresses", _address("billing", False), "billing_code", "billing_country",
                "billing_state"),
)

# The table's Max column, by column name or (repeated columns) by stem.
MAX_LENGTH: dict[str, int] = {
    "profile_name": 100, "customer_code": 100, "customer_alias": 150, "alternate_name": 100, "website": 255,
    "company_number_name": 150, "company_number_code": 100, "customer_group_name": 150,
    "customer_group_code": 100, "sales_rep_code": 255,
    "warehouse_name": 255, "warehouse_code": 255, "buyer_name": 255, "buyer_email": 255,
    "payment_terms": 255, "payment_terms_code": 255, "shipping_terms": 255,
    "price_type_currency": 3, "price_type_name": 100,
    **{f"{p}_{s}": n for p in ("shipping", "billing") for s, n in (
        ("code", 100), ("name", 255), ("address_1", 100), ("address_2", 100), ("city", 150), ("state", 40),
        ("zip", 20), ("country", 100))},
    "shipping_email": 255, "shipping_phone": 30,
}
DISCOUNT_DIGITS = 3  # "Integer, 3"
REQUIRED = ("profile_name", "customer_code")  # on every row
REQUIRED_FIRST = ("price_type_currency", "price_type_name")  # repeated, at least the first entry
# "Required if buyer name is provided", "Required if discount is provided": (column, the column that needs it)
REQUIRED_WITH = (("buyer_email", "buyer_name"), ("discount_line_item_level", "discount"))
BOOLEAN_TEXT = {True: "yes", False: "no"}  # "A yes/no field"
