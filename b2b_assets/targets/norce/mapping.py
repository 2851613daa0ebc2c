"""Canonical frames -> Norce Company and Customer documents, with column operations over whole entities.

`companies_payload` and `customers_payload` give one row per document (its
scalar members as columns, nested objects flattened as `Object.Member`) and,
for companies, one child row per delivery address. Only `NorcePayload.documents`
walks records one by one: for the XML serialization, and one record per JSON
import for its header (JSON bodies are written from the columns, `json_documents`).

Organizations -> Company: Code (organization_number), Name, OrganizationNo
(registration_no), EmailAddress, PhoneNumber, VatNo, ParentCompanyCode, IsActive
(status active); InvoiceAddress from the organization's primary billing
location (address_type billing or both; primary first, then location id);
DeliveryAddresses from its active shipping locations (shipping or both);
PaymentMethods from payment_type_ids (the ids are the codes Norce matches on);
PriceLists from price_level_id; Discounts: discount_percent as one category
discount on `discount_category_code` (Norce discounts need a category, a
discount class or a flag; a blanket account discount is a category discount on
the catalogue's root category).

Users -> Customer: Code (user_key), FirstName/MiddleName/LastName (`names`),
EmailAddress, PhoneNumber, CellPhoneNumber (mobile_phone), Title, IsActive;
Companies: its organization, primary; Accounts: one account, LoginName
username (else e-mail), Status from active, Roles from role through
`role_codes`, Password only when the export is configured as the system of
record for credentials (seed 000); Norce sets it only on a new account.

Every managed member is on every document, as null (or an empty list) when
the hub has no value: the hub is the system of record for what the mapping
manages, so an emptied value is cleared in Norce on purpose, and every
document of a batch carries the same members, which is what makes the
derived FieldsThatAreSet honest (see `connect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from b2b_assets.model import LIST_SEPARATOR
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload
from b2b_assets.targets.norce.names import split_names

DEFAULT_ROLE_CODES: Mapping[str, str] = {"manager": "Administrator", "buyer": "User"}
ADDRESS_MEMBERS = {
    "Code": "location_id", "AddressLine1": "address1", "AddressLine2": "address2", "City": "city",
    "Region": "state", "ZipCode": "postal_code", "CountryCode": "country", "ShippingPhoneNumber": "phone",
}
INVOICE = "InvoiceAddress."
ACCOUNT = "Accounts."


@dataclass(frozen=True)
class MappingOptions:
    """What shapes the payload (and so its hash): set once per deployment."""

    credentials_system_of_record: bool = False  # seed 000: send passwords only if the export owns them
    role_codes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROLE_CODES))
    discount_category_code: str = "ALL"


@dataclass(frozen=True)
class Envelope:
    """What every document of a request carries besides the record: the application and the list semantics."""

    application_key: str
    list_delta: bool = True  # false: mirror mode, relations Norce has but the request omits are deactivated


@dataclass
class NorcePayload(Payload):
    """The mapped records of one Norce object; NA is sent as null, which clears the member in Norce.

    records: record_key + members (nested objects flattened as `Object.Member`);
    children: the companies' delivery addresses (parent_key + Address members).
    """

    item_type: str = "Company"  # Company or Customer

    def documents(self, rows: pd.DataFrame, envelope: Envelope) -> list[dict[str, Any]]:
        """JSON-ready documents for `rows` (a slice of `records`), every managed member present."""
        members = rows.drop(columns=[RECORD_KEY])
        flat = members.astype(object).where(members.notna(), None).to_dict("records")
        build = _company_document if self.item_type == "Company" else _customer_document
        addresses = self._addresses_for(rows[RECORD_KEY].tolist()) if self.children is not None else None
        return [build(values, envelope, addresses[i] if addresses else None) for i, values in enumerate(flat)]

    @cached_property
    def _address_positions(self) -> dict[str, np.ndarray]:
        # Grouped once (the core settles children before sending), so a batch never scans every address.
        return {str(key): rows for key, rows in self.children.groupby(PARENT_KEY, sort=False).indices.items()}

    def _addresses_for(self, keys: list[str]) -> list[list[dict[str, Any]]]:
        empty = np.array([], dtype=np.intp)
        positions = [self._address_positions.get(key, empty) for key in keys]
        members = [c for c in self.children.columns if c != PARENT_KEY]
        chosen = self.children[members].iloc[np.concatenate(positions)] if keys else self.children[members].iloc[:0]
        flat = chosen.astype(object).where(chosen.notna(), None).to_dict("records")
        out, start = [], 0
        for rows in positions:
            out.append(flat[start:start + len(rows)])
            start += len(rows)
        return out


def companies_payload(frames: Mapping[str, pd.DataFrame], options: MappingOptions = MappingOptions()) -> NorcePayload:
    orgs = frames["organizations"]
    locations = frames["locations"]
    records = pd.DataFrame({
        RECORD_KEY: orgs["organization_number"].astype(TEXT_DTYPE),
        "Code": orgs["organization_number"],
        "Name": orgs["organization_name"],
        "OrganizationNo": orgs["registration_no"],
        "EmailAddress": orgs["email"],
        "PhoneNumber": orgs["phone"],
        "VatNo": orgs["vat_no"],
        "ParentCompanyCode": orgs["parent_organization_number"],
        "IsActive": orgs["status"].eq("active").astype("bool[pyarrow]"),
        "PaymentMethods": orgs["payment_type_ids"],
        "PriceList": orgs["price_level_id"],
        "DiscountPercentage": orgs["discount_percent"],
    })
    billing = locations[locations["address_type"].isin(["billing", "both"]) & locations["status"].eq("active")]
    billing = billing.sort_values(["organization_number", "is_primary", "location_id"], ascending=[True, False, True])
    invoice = billing.drop_duplicates("organization_number").set_index("organization_number")
    for member, column in ADDRESS_MEMBERS.items():
        records[INVOICE + member] = records["Code"].map(invoice[column]).astype(invoice[column].dtype)
    # Parents first, so a parent lands no later than its children when the companies go in several jobs.
    records = records.sort_values("ParentCompanyCode", na_position="first", kind="stable").reset_index(drop=True)

    shipping = locations[locations["address_type"].isin(["shipping", "both"]) & locations["status"].eq("active")]
    shipping = shipping.sort_values(["organization_number", "location_id"])
    children = pd.DataFrame({PARENT_KEY: shipping["organization_number"].astype(TEXT_DTYPE)})
    for member, column in ADDRESS_MEMBERS.items():
        children[member] = shipping[column]
    children["IsPrimary"] = shipping["is_primary"].fillna(False).astype("bool[pyarrow]")
    # The discount's category is part of the payload, so changing it resends every company.
    records["DiscountCategory"] = pd.Series(options.discount_category_code, index=records.index, dtype=TEXT_DTYPE)
    return NorcePayload(records, children.reset_index(drop=True), item_type="Company")


def customers_payload(frames: Mapping[str, pd.DataFrame], options: MappingOptions = MappingOptions()) -> NorcePayload:
    users = frames["users"]
    names = split_names(users["name"])
    active = users["active"].fillna(True).astype("bool[pyarrow]")
    roles = users["role"].map(dict(options.role_codes)).astype(TEXT_DTYPE).fillna(users["role"])  # unmapped: as is
    records = pd.DataFrame({
        RECORD_KEY: users["user_key"].astype(TEXT_DTYPE),
        "Code": users["user_key"],
        **{column: names[column] for column in names.columns},
        "EmailAddress": users["email"],
        "PhoneNumber": users["phone"],
        "CellPhoneNumber": users["mobile_phone"],
        "Title": users["title"],
        "IsActive": active,
        "CompanyCode": users["organization_number"],
        ACCOUNT + "LoginName": users["username"].fillna(users["email"]),
        ACCOUNT + "Status": pd.Series(np.where(active, "Active", "Inactive"), index=users.index, dtype=TEXT_DTYPE),
        ACCOUNT + "Role": roles,
    })
    if options.credentials_system_of_record:
        records[ACCOUNT + "Password"] = users["password"]
    return NorcePayload(records.reset_index(drop=True), None, item_type="Customer")


def _company_document(values: dict[str, Any], envelope: Envelope, addresses: list[dict[str, Any]] | None) -> dict[str, Any]:
    invoice = {member: values.pop(INVOICE + member) for member in ADDRESS_MEMBERS}
    payment_types, price_list = values.pop("PaymentMethods"), values.pop("PriceList")
    discount, category = values.pop("DiscountPercentage"), values.pop("DiscountCategory")
    return {
        "ApplicationKey": envelope.application_key,
        **values,
        "InvoiceAddress": invoice if invoice["Code"] is not None else None,
        "DeliveryAddresses": addresses or [],
        "PaymentMethods": [{"Code": code} for code in payment_types.split(LIST_SEPARATOR)] if payment_types else [],
        "PriceLists": [{"Code": price_list}] if price_list else [],
        "Discounts": [{"Type": "Category", "ValueCode": category, "DiscountPercentage": discount}] if discount else [],
        "IsCustomerListDelta": envelope.list_delta,
    }


def _customer_document(values: dict[str, Any], envelope: Envelope, _: object) -> dict[str, Any]:
    company = values.pop("CompanyCode")
    role = values.pop(ACCOUNT + "Role")
    account = {"ApplicationKey": envelope.application_key, "LoginName": values.pop(ACCOUNT + "LoginName"),
               "Status": values.pop(ACCOUNT + "Status"), "Roles": [{"Code": role}] if role else []}
    if ACCOUNT + "Password" in values:
        account["Password"] = values.pop(ACCOUNT + "Password")
    return {
        **values,
        "Companies": [{"Code": company, "IsPrimary": True}],
        "Accounts": [account],
        "IsCompanyListDelta": envelope.list_delta,
    }
