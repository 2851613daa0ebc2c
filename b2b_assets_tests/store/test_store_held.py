"""Held records: kept out of the hub while a parent is missing, retried, released when they land."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import KEY_SEPARATOR, Store, record_key


def users() -> pd.DataFrame:
    return pd.DataFrame({
        "user_key": ["USR-1", "USR-2", "USR-3"],
        "organization_number": ["CUST-404", "CUST-404", "CUST-405"],
        "name": ["Jane Smith", "Jo Bloggs", "Ann Lee"],
        "email": ["jane@example.com", "jo@example.com", "ann@example.com"],
        "active": [True, False, None],
    })


def test_hold_load_release(store: Store) -> None:
    frame = users()
    reasons = pd.Series(["organization CUST-404 missing"] * 2 + ["organization CUST-405 missing"], index=frame.index)
    assert store.held.hold("users", frame, reasons, "organization_number->organizations") == 3
    assert store.held.count("users") == 3

    held = store.held.load("users")
    ent = entity("users")
    pd.testing.assert_frame_equal(held[ent.columns], cast_frame(ent, frame))
    assert held["_held_reason"].tolist()[2] == "organization CUST-405 missing"
    assert (held["_missing_reference"] == "organization_number->organizations").all()
    assert held["_held_attempts"].tolist() == [1, 1, 1]

    # CUST-404 landed: its users go to the hub and are released
    assert store.held.release("users", held[held["organization_number"] == "CUST-404"]) == 2
    remaining = store.held.load("users")
    assert remaining["user_key"].tolist() == ["USR-3"]
    assert store.held.count("users") == 1
    assert store.held.counts() == {"users": 1}


def test_holding_again_counts_attempts_and_refreshes_the_record(store: Store) -> None:
    store.held.hold("users", users(), "organization missing")
    retry = users().iloc[[0]].assign(name="Jane Smith-Jones")
    store.held.hold("users", retry, pd.Series(["still missing"], index=retry.index))
    held = store.held.load("users").set_index("user_key")
    assert held.loc["USR-1", "_held_attempts"] == 2
    assert held.loc["USR-1", "_held_reason"] == "still missing"
    assert held.loc["USR-1", "name"] == "Jane Smith-Jones"
    assert held.loc["USR-2", "_held_attempts"] == 1
    assert store.held.count("users") == 3


def test_held_records_are_per_entity(store: Store) -> None:
    store.held.hold("users", users(), "organization missing")
    locations = pd.DataFrame({"organization_number": ["CUST-404"], "location_id": ["L1"], "location_name": ["Shop"],
                              "address1": ["1 Main St"], "city": ["Boston"]})
    store.held.hold("locations", locations, "organization missing")
    assert store.held.count("locations") == 1
    assert store.held.release("locations", locations) == 1
    assert store.held.count("users") == 3
    assert store.held.load("locations").empty


def test_held_payload_keeps_decimals_and_missing_key_parts(store: Store) -> None:
    prices = pd.DataFrame({"product_id": ["P1"], "price_group_id": ["VIP"], "sell_unit_id": ["EA"],
                           "quantity": [2.5], "price": [1234567.8912]})
    store.held.hold("customer_prices", prices, "product missing")
    held = store.held.load("customer_prices")
    assert held["price"].iloc[0] == Decimal("1234567.8912")
    assert pd.isna(held["organization_number"].iloc[0])
    assert store.held.release("customer_prices", prices) == 1


def test_record_key_joins_key_parts_with_unit_separator() -> None:
    frame = pd.DataFrame({"product_id": ["P1", "P2"], "organization_number": [None, "C1"],
                          "price_group_id": ["VIP", ""], "sell_unit_id": ["EA", "BOX"], "quantity": [1, 2.5]},
                         index=[7, 9])
    keys = record_key("customer_prices", frame)
    assert keys.tolist() == [KEY_SEPARATOR.join(["P1", "", "VIP", "EA", "1"]),
                             KEY_SEPARATOR.join(["P2", "C1", "", "BOX", "2.5"])]
    assert keys.index.tolist() == [7, 9]
    assert record_key("organizations", pd.DataFrame({"organization_number": ["X"]})).tolist() == ["X"]
