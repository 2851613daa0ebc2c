"""Norce's own limits, checked before sending: a record over one is refused for Norce only.

The hub keeps the widest limit any target accepts (an organization name of 255
characters, a city of 150); Norce takes less. Seed 003 states the address
limits (Code 50, CountryCode 2, Gln 50, ShippingPhoneNumber 50); the others
are the column sizes the README lists as assumed, the same the sandbox enforces.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY
from b2b_assets.targets.norce.mapping import ACCOUNT, INVOICE, NorcePayload

ADDRESS_LIMITS = {"Code": 50, "AddressLine1": 255, "AddressLine2": 255, "City": 100, "Region": 100, "ZipCode": 20,
                  "CountryCode": 2, "ShippingPhoneNumber": 50}
COMPANY_LIMITS = {"Code": 50, "Name": 100, "OrganizationNo": 50, "EmailAddress": 255, "PhoneNumber": 50, "VatNo": 50,
                  "ParentCompanyCode": 50, **{INVOICE + member: limit for member, limit in ADDRESS_LIMITS.items()}}
CUSTOMER_LIMITS = {"Code": 50, "FirstName": 50, "MiddleName": 50, "LastName": 50, "EmailAddress": 255,
                   "PhoneNumber": 50, "CellPhoneNumber": 50, "Title": 50, ACCOUNT + "LoginName": 255,
                   ACCOUNT + "Password": 255, ACCOUNT + "Role": 50}


def rejection_reasons(payload: NorcePayload) -> pd.Series:
    """Reason strings indexed by record_key for the records Norce would refuse."""
    limits = COMPANY_LIMITS if payload.item_type == "Company" else CUSTOMER_LIMITS
    reasons = [_too_long(payload.records, payload.records[RECORD_KEY], limits)]
    if payload.children is not None and not payload.children.empty:
        reasons.append(_too_long(payload.children, payload.children[PARENT_KEY], ADDRESS_LIMITS, "DeliveryAddresses."))
    found = pd.concat(reasons)
    return found[~found.index.duplicated(keep="first")].astype("string")


def _too_long(frame: pd.DataFrame, owners: pd.Series, limits: Mapping[str, int], prefix: str = "") -> pd.Series:
    found = []
    for column, limit in limits.items():
        if column not in frame.columns:
            continue
        lengths = frame[column].astype("string").str.len()
        over = (lengths > limit).fillna(False).to_numpy()
        if over.any():
            text = (f"{prefix}{column}: " + lengths[over].astype("string") + f" characters, Norce takes at most {limit}")
            found.append(pd.Series(text.to_numpy(), index=owners[over].to_numpy()))
    return pd.concat(found) if found else pd.Series([], dtype="string")
