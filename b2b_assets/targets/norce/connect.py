"""The Connect request as the client writes it: the X-StormConnect-Header and the body.

The FieldsThatAreSet lists are derived from the documents actually sent, never
kept by hand: a field is claimed exactly when the documents carry it. Norce
clears a claimed field that a document lacks, so every document of one request
must carry the same fields; `connect_header` refuses a batch where they differ
rather than claim a field some document does not carry. (The mapping makes
that hold by sending a managed field on every record, as null when the hub
has no value: the hub is the system of record for the fields it manages, so
an emptied value is meant to be cleared.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import simplejson
from lxml import etree

# Positions are the integers the XML serialization uses (seed 003, CustomerHeader).
COMPANY_FIELDS = (
    "ApplicationKey", "Id", "Code", "OrganizationNo", "Name", "EmailAddress", "PhoneNumber", "LogoImage",
    "ParentCompanyCode", "IsActive", "InvoiceAddress", "DeliveryAddresses", "AdditionalInfo", "Contacts",
    "Customers", "DeliveryMethods", "Discounts", "Flags", "PaymentMethods", "PriceLists", "SearchOnlyByCode",
    "VatNo", "PreserveFlags",
)
CUSTOMER_FIELDS = (
    "ApplicationKey", "Id", "Code", "EmailAddress", "SocialSecurityNumber", "Title", "FirstName", "MiddleName",
    "LastName", "PhoneNumber", "CellPhoneNumber", "IsActive", "InvoiceAddress", "DeliveryAddresses", "Accounts",
    "AdditionalInfo", "Flags", "PriceLists", "SearchOnlyByCode", "Companies", "CrmId", "PreserveFlags",
)
ACCOUNT_FIELDS = ("PasswordCreateOnly", "Status", "StatusCreateOnly", "Roles", "RolesCreateOnly")
# Account members and the AccountFieldsThatAreSet entry that makes an import process them.
ACCOUNT_FIELD_FOR = {"Password": "PasswordCreateOnly", "Status": "Status", "Roles": "Roles"}
ACCOUNT_IDENTITY = frozenset({"ApplicationKey", "LoginName"})
# Record members that are switches, not FieldsThatAreSet entries.
LIST_DELTA_FLAGS = {"Company": "IsCustomerListDelta", "Customer": "IsCompanyListDelta"}
# Enums XML takes as integers, by member name (Type: a customer's type and a discount's, whose names differ).
XML_ENUMS = {
    "Status": {"Active": 1, "Inactive": 2},
    "Type": {"Customer": 1, "CompanyContact": 2, "Category": 1, "ProductDiscountClass": 2, "ProductFlag": 3},
}
# XML element of one item, by list member.
XML_ITEMS = {
    "DeliveryAddresses": "Address", "PaymentMethods": "PaymentMethod", "PriceLists": "PriceList",
    "Discounts": "Discount", "Accounts": "Account", "Roles": "AccountRole", "Companies": "CompanyIdentifier",
}
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


class MixedFieldSets(ValueError):
    """The documents of one request do not all carry the same fields; sending them would clear data."""


def fields_that_are_set(documents: Sequence[Mapping[str, Any]], item_type: str) -> list[str]:
    """The FieldsThatAreSet entries for these documents: the members they carry, all of them the same."""
    flag = LIST_DELTA_FLAGS[item_type]
    allowed = COMPANY_FIELDS if item_type == "Company" else CUSTOMER_FIELDS
    carried = _same_members(documents, item_type) - {flag}
    unknown = carried - set(allowed)
    if unknown:
        raise ValueError(f"{item_type} documents carry members Norce has no FieldsThatAreSet entry for: {sorted(unknown)}")
    return [name for name in allowed if name in carried]


def account_fields_that_are_set(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    accounts = [account for document in documents for account in document.get("Accounts") or []]
    if not accounts:
        return []
    carried = _same_members(accounts, "Account") - ACCOUNT_IDENTITY
    return [entry for member, entry in ACCOUNT_FIELD_FOR.items() if member in carried]


def _same_members(documents: Sequence[Mapping[str, Any]], item_type: str) -> frozenset[str]:
    sets = {frozenset(document) for document in documents}
    if len(sets) > 1:
        union, common = frozenset().union(*sets), frozenset.intersection(*sets)
        raise MixedFieldSets(f"{item_type} documents of one request carry different fields "
                             f"({sorted(union - common)} only on some); each would be cleared where it is missing")
    return next(iter(sets), frozenset())


def connect_header(documents: Sequence[Mapping[str, Any]], item_type: str, *, account_id: int,
                   serialization: str = "JSON", list_delta: bool = True) -> str:
    """The single-line JSON of X-StormConnect-Header for one import of `documents`.

    `list_delta` true (the safe default) means relations the request does not
    name are left alone; false mirrors the list, deactivating the others.
    """
    xml = serialization == "XML"
    own = fields_that_are_set(documents, item_type)
    header: dict[str, Any] = {"AccountId": account_id, "SerializationType": serialization}
    if item_type == "Company":
        header["CompanyFieldsThatAreSet"] = _entries(own, COMPANY_FIELDS, xml)
        header["IsCustomerListDelta"] = list_delta
    else:
        header["CustomerFieldsThatAreSet"] = _entries(own, CUSTOMER_FIELDS, xml)
        header["IsCompanyListDelta"] = list_delta
        accounts = account_fields_that_are_set(documents)
        if accounts:
            header["AccountFieldsThatAreSet"] = _entries(accounts, ACCOUNT_FIELDS, xml)
    return json.dumps(header, separators=(",", ":"), ensure_ascii=True)


def _entries(names: list[str], order: tuple[str, ...], xml: bool) -> list[str] | list[int]:
    return [order.index(name) for name in names] if xml else names


def encode_body(documents: Sequence[Mapping[str, Any]], item_type: str, serialization: str = "JSON") -> tuple[bytes, str]:
    """The body and its Content-Type: a bare JSON array, or XML with integer enums."""
    if serialization != "XML":
        # Decimals digit for digit (a discount of 12.5 stays 12.5), as the SQUIZZ envelope writes them.
        return (simplejson.dumps(list(documents), ensure_ascii=False, separators=(",", ":"), use_decimal=True).encode(),
                "application/json")
    root = etree.Element(f"ArrayOf{item_type}", nsmap={"xsi": _XSI})
    for document in documents:
        _xml_element(root, item_type, document)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8"), "application/xml"


def _xml_element(parent: etree._Element, tag: str, value: Any) -> None:
    element = etree.SubElement(parent, tag)
    if value is None:
        element.set(f"{{{_XSI}}}nil", "true")
    elif isinstance(value, Mapping):
        for name, member in value.items():
            if isinstance(member, list):
                holder = etree.SubElement(element, name)
                for item in member:
                    _xml_element(holder, XML_ITEMS[name], item)
            else:
                _xml_element(element, name, XML_ENUMS[name].get(member, member) if name in XML_ENUMS else member)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
