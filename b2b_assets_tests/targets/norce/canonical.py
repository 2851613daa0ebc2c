"""Small canonical organizations, locations and users for the Norce tests, optional values empty on some rows."""

from __future__ import annotations

import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.targets.norce.mapping import Envelope, MappingOptions

OPTIONS = MappingOptions()
ENVELOPE = Envelope(application_key=DEFAULT_APPLICATION_KEY)


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    return cast_frame(entity(name), pd.DataFrame(rows))


def canonical_frames() -> dict[str, pd.DataFrame]:
    return {
        "organizations": frame("organizations", [
            {"organization_number": "C1", "organization_name": "Åhléns Storkök AB", "status": "active",
             "registration_no": "556012-3456", "email": "info@ahlens.example", "phone": "+46 8 555 0100",
             "vat_no": "SE556012345601", "payment_type_ids": "ACCT|CC", "price_level_id": "TRADE",
             "discount_percent": 5},
            {"organization_number": "C2", "organization_name": "Åhléns Göteborg", "status": "inactive",
             "parent_organization_number": "C1"},  # every optional value empty
        ]),
        "locations": frame("locations", [
            {"organization_number": "C1", "location_id": "C1-BILL", "location_name": "Accounts", "address1": "Box 1",
             "city": "Stockholm", "postal_code": "111 22", "country": "SE", "address_type": "billing",
             "is_primary": True, "status": "active"},
            {"organization_number": "C1", "location_id": "C1-S1", "location_name": "Kitchen", "address1": "Storgatan 1",
             "address2": "Dock 3", "city": "Stockholm", "state": "AB", "postal_code": "111 23", "country": "SE",
             "phone": "+46 8 555 0101", "address_type": "shipping", "is_primary": True, "status": "active"},
            {"organization_number": "C1", "location_id": "C1-S2", "location_name": "Closed", "address1": "Gamla 2",
             "city": "Uppsala", "country": "SE", "address_type": "shipping", "status": "inactive"},
            {"organization_number": "C2", "location_id": "C2-HQ", "location_name": "HQ", "address1": "Avenyn 1",
             "city": "Göteborg", "country": "SE", "address_type": "both", "status": "active"},
        ]),
        "users": frame("users", [
            {"user_key": "U1", "organization_number": "C1", "user_id": "U1", "username": "karin",
             "name": "Karin van der Berg", "email": "karin@ahlens.example", "phone": "+46 8 1", "active": True,
             "role": "manager", "title": "Purchasing manager", "mobile_phone": "+46 70 1", "password": "s3cret-1"},
            {"user_key": "U2", "organization_number": "C2", "user_id": "U2", "name": "山田 太郎",
             "email": "taro@ahlens.example", "active": False},  # no username, phone, role, title, mobile, password
        ]),
    }
