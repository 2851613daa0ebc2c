"""What Norce should hold for a hub, written from the hub's columns (not through the mapping), and the diff."""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2b_assets.targets.norce.names import split_name

ROLES = {"manager": "Administrator", "buyer": "User"}


def _value(value: Any) -> Any:
    return None if value is None or (not isinstance(value, list) and pd.isna(value)) else value


def _address(location: pd.Series) -> dict[str, Any]:
    return {"Code": location["location_id"], "AddressLine1": location["address1"], "AddressLine2": _value(location["address2"]),
            "City": location["city"], "Region": _value(location["state"]), "ZipCode": _value(location["postal_code"]),
            "CountryCode": _value(location["country"]), "ShippingPhoneNumber": _value(location["phone"])}


def expected_companies(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    orgs, locations = frames["organizations"], frames["locations"]
    active = locations[locations["status"] == "active"]
    codes = set(orgs["organization_number"])
    expected = {}
    for _, org in orgs.iterrows():
        own = active[active["organization_number"] == org["organization_number"]].sort_values("location_id")
        billing = own[own["address_type"].isin(["billing", "both"])].sort_values("is_primary", ascending=False, kind="stable")
        parent = _value(org["parent_organization_number"])
        expected[org["organization_number"]] = {
            "Name": org["organization_name"], "OrganizationNo": _value(org["registration_no"]),
            "EmailAddress": _value(org["email"]), "PhoneNumber": _value(org["phone"]), "VatNo": _value(org["vat_no"]),
            "ParentCompanyCode": parent if parent in codes else None, "IsActive": org["status"] == "active",
            "PaymentMethods": [{"Code": c} for c in (_value(org["payment_type_ids"]) or "").split("|") if c],
            "PriceLists": [{"Code": org["price_level_id"]}] if _value(org["price_level_id"]) else [],
            "Discounts": [{"Type": "Category", "ValueCode": "ALL", "DiscountPercentage": float(org["discount_percent"])}]
                         if _value(org["discount_percent"]) else [],
            "InvoiceAddress": _address(billing.iloc[0]) if len(billing) else None,
            "DeliveryAddresses": [{**_address(loc), "IsPrimary": bool(loc["is_primary"])}
                                  for _, loc in own[own["address_type"].isin(["shipping", "both"])].iterrows()],
        }
    return expected


def expected_customers(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    expected = {}
    for _, user in frames["users"].iterrows():
        first, middle, last = split_name(user["name"])
        active = bool(_value(user["active"]) is not False)
        role = _value(user["role"])
        expected[user["user_key"]] = {
            "FirstName": first, "MiddleName": middle, "LastName": last, "EmailAddress": user["email"],
            "PhoneNumber": _value(user["phone"]), "CellPhoneNumber": _value(user["mobile_phone"]),
            "Title": _value(user["title"]), "IsActive": active,
            "Companies": [{"Code": user["organization_number"], "IsPrimary": True, "IsActive": True}],
            "Accounts": [{"LoginName": _value(user["username"]) or user["email"], "Status": "Active" if active else "Inactive",
                          "Roles": [{"Code": ROLES.get(role, role), "IsActive": True}] if role else []}],
        }
    return expected


def differences(expected: dict[str, dict[str, Any]], stored: list[dict[str, Any]]) -> list[str]:
    """Every field where Norce's read-back differs from what the hub says, as 'code.field: want != got'."""
    by_code = {record["Code"]: record for record in stored}
    problems = [f"{code}: missing in Norce" for code in expected if code not in by_code]
    problems += [f"{code}: in Norce but not in the hub" for code in by_code if code not in expected]
    for code, fields in expected.items():
        got = by_code.get(code)
        if got is None:
            continue
        for name, want in fields.items():
            have = got.get(name)
            if name == "Accounts":
                have = [{k: a[k] for k in ("LoginName", "Status", "Roles")} for a in have or []]
            if have != want:
                problems.append(f"{code}.{name}: {want!r} != {have!r}")
    return problems
