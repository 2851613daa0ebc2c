"""The Norce Connect customer schemas as data: types, their fields, limits and enums.

Seed 003 gives the shape of every type and a few limits (address `Code` 50,
`CountryCode` 2, `Gln` 50, `ShippingPhoneNumber` 50). For the other text
fields it gives none; the sandbox assumes the column sizes below (50 for codes,
names and phones, 100 for company names and cities, 255 for e-mail addresses,
login names and address lines) and the README says so. Enums are accepted as
their name or their integer and stored by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    """One field of a Connect type.

    kind: text, bool, int, decimal, uuid, datetime, enum, object (one `item`) or list (of `item`).
    """

    name: str
    kind: str = "text"
    max_length: int | None = None
    required: bool = False
    enum: Mapping[str, int] | None = None
    item: str | None = None


def _text(name: str, max_length: int | None = 50, required: bool = False) -> FieldSpec:
    return FieldSpec(name, "text", max_length, required)


def _bool(name: str) -> FieldSpec:
    return FieldSpec(name, "bool")


def _list(name: str, item: str) -> FieldSpec:
    return FieldSpec(name, "list", item=item)


def _object(name: str, item: str) -> FieldSpec:
    return FieldSpec(name, "object", item=item)


ACCOUNT_STATUS = {"Active": 1, "Inactive": 2}
CUSTOMER_TYPE = {"Customer": 1, "CompanyContact": 2}
DISCOUNT_TYPE = {"Category": 1, "ProductDiscountClass": 2, "ProductFlag": 3}

_ADDRESS = (
    _text("AddressLine1", 255), _text("AddressLine2", 255), _text("CareOf", 100), _text("City", 100),
    _text("Code"), _text("CountryCode", 2), _text("Gln"), _bool("IsPrimary"), _bool("IsValidated"),
    _text("Region", 100), _text("ShippingPhoneNumber"), _text("ZipCode", 20),
)

TYPES: Mapping[str, tuple[FieldSpec, ...]] = {
    "Company": (
        FieldSpec("ApplicationKey", "uuid", required=True), FieldSpec("Id", "int"), _text("Code"),
        _text("OrganizationNo"), _text("Name", 100), _text("EmailAddress", 255), _text("PhoneNumber"),
        _text("VatNo"), _text("ParentCompanyCode"), _bool("IsActive"), _bool("IsCustomerListDelta"),
        _bool("UseInvoiceAddressAsDeliveryAddress"), _object("InvoiceAddress", "Address"),
        _list("DeliveryAddresses", "Address"), _list("PaymentMethods", "PaymentMethod"),
        _list("PriceLists", "PriceList"), _list("Discounts", "Discount"), _list("DeliveryMethods", "DeliveryMethod"),
        _list("Contacts", "Contact"), _list("Customers", "Customer@Company"), _list("Flags", "Flag"),
        _list("AdditionalInfo", "Info"), _object("LogoImage", "Image"),
    ),
    "Customer": (
        FieldSpec("ApplicationKey", "uuid"), FieldSpec("Id", "int"), _text("Code"), _text("EmailAddress", 255),
        _text("SocialSecurityNumber"), _text("Title"), _text("FirstName"), _text("MiddleName"), _text("LastName"),
        _text("PhoneNumber"), _text("CellPhoneNumber"), _text("CrmId"), _bool("IsActive"), _bool("IsCompanyListDelta"),
        FieldSpec("Type", "enum", enum=CUSTOMER_TYPE), _object("InvoiceAddress", "Address"),
        _list("DeliveryAddresses", "Address"), _list("Accounts", "Account"), _list("Companies", "CompanyIdentifier"),
        _list("Flags", "Flag"), _list("AdditionalInfo", "Info"), _list("PriceLists", "PriceList"),
    ),
    "Address": _ADDRESS,
    "Account": (
        FieldSpec("ApplicationKey", "uuid", required=True), _text("LoginName", 255, required=True),
        _text("Password", 255), _list("Roles", "AccountRole"), FieldSpec("Status", "enum", enum=ACCOUNT_STATUS),
    ),
    "AccountRole": (_text("Code", required=True), _bool("IsActive")),
    "CompanyIdentifier": (
        _text("Code"), FieldSpec("Id", "int"), _bool("IsPrimary"), _text("Name", 100), _text("OrganizationNo"),
    ),
    "PaymentMethod": (_text("Code", required=True), _text("InvoiceCaptureSettingsCode"), _bool("IsActive")),
    "PriceList": (_text("Code", required=True), _bool("IsExclusive")),
    "Discount": (
        FieldSpec("DiscountPercentage", "decimal"), _text("PriceListTypeIdSeed", 255),
        FieldSpec("Type", "enum", enum=DISCOUNT_TYPE), _text("ValueCode"),
    ),
    "DeliveryMethod": (_text("Code", required=True), _bool("IsActive")),
    "Contact": (_text("Code", required=True), _bool("IsActive")),
    # A company's Customers list names customers by identifier only (XML element <Customer>).
    "Customer@Company": (FieldSpec("Id", "int"), _text("Code"), _text("EmailAddress", 255)),
    "Flag": (
        _text("Code", required=True), _bool("IsActive"), _bool("IsCreateOnly"), _bool("IsLimitedUpdate"),
        FieldSpec("StopDate", "datetime"),
    ),
    "Info": (_text("Code", required=True), _text("Value", 4000, required=True)),
    "Image": (
        _text("ExternalCode", required=True), _text("FileTypeName", required=True), _text("Url", 2000, required=True),
        _text("Filename", 255), FieldSpec("LastModified", "datetime"),
    ),
}

FIELDS: Mapping[str, Mapping[str, FieldSpec]] = {name: {f.name: f for f in fields} for name, fields in TYPES.items()}

# XML element name of one item of a list (or of an object), by item type.
XML_ITEM_TAG = {name: name.split("@")[0] for name in TYPES}

# CustomerHeader enums: position = the integer XML uses.
COMPANY_FIELDS_THAT_ARE_SET = (
    "ApplicationKey", "Id", "Code", "OrganizationNo", "Name", "EmailAddress", "PhoneNumber", "LogoImage",
    "ParentCompanyCode", "IsActive", "InvoiceAddress", "DeliveryAddresses", "AdditionalInfo", "Contacts",
    "Customers", "DeliveryMethods", "Discounts", "Flags", "PaymentMethods", "PriceLists", "SearchOnlyByCode",
    "VatNo", "PreserveFlags",
)
CUSTOMER_FIELDS_THAT_ARE_SET = (
    "ApplicationKey", "Id", "Code", "EmailAddress", "SocialSecurityNumber", "Title", "FirstName", "MiddleName",
    "LastName", "PhoneNumber", "CellPhoneNumber", "IsActive", "InvoiceAddress", "DeliveryAddresses", "Accounts",
    "AdditionalInfo", "Flags", "PriceLists", "SearchOnlyByCode", "Companies", "CrmId", "PreserveFlags",
)
ACCOUNT_FIELDS_THAT_ARE_SET = ("PasswordCreateOnly", "Status", "StatusCreateOnly", "Roles", "RolesCreateOnly")
SERIALIZATION_TYPES = ("JSON", "XML")

# Entries of a FieldsThatAreSet list that are switches, not fields of the body.
OPTIONS = frozenset({"SearchOnlyByCode", "PreserveFlags"})

JOB_STATUS = {1: "Initialized", 2: "Succeeded", 3: "Failed", 4: "ValidationFailed", 5: "Validating", 6: "Queued"}
SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_ERROR = 1, 2, 3
