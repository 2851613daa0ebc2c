"""Sync-health aggregates over the ledger and the held records, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from b2b_assets.store import Store, health


def outcomes(keys: list[str], states: list[str], errors: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"record_key": keys, "payload_hash": range(len(keys)), "state": states, "last_error": errors})


def test_ledger_health_counts_states_attempts_and_the_oldest_held_record_per_target_and_entity(store: Store) -> None:
    store.ledger.record("squizz", "products", outcomes(
        ["P1", "P2", "P3", "P4"], ["sent", "rejected", "held", "held"],
        [None, "PRODUCT_INVALID: price must be greater than 0", "keyTaxcodeID 'TX9' is not yet at the target", None]))
    store.ledger.record("squizz", "products", outcomes(["P2"], ["rejected"], ["PRODUCT_INVALID: still 0"]))
    store.ledger.record("joor", "connections", outcomes(["C1", "C2"], ["submitted", "sent"], [None, None]))

    rows = health.ledger_health(store.engine).set_index(["target", "entity"])
    products, connections = rows.loc[("squizz", "products")], rows.loc[("joor", "connections")]
    assert (products["acknowledged"], products["rejected"], products["held"], products["submitted"]) == (1, 1, 2, 0)
    assert products["attempts"] == 2  # P2, tried twice
    assert pd.notna(products["oldest_held_at"]) and health.age_hours(rows["oldest_held_at"]).min() >= 0
    assert (connections["acknowledged"], connections["submitted"], connections["attempts"]) == (1, 1, 0)
    assert pd.isna(connections["oldest_held_at"])

    problems = health.ledger_problems(store.engine, 10)
    assert problems["record_key"].tolist() == ["P2", "P3", "P4"]  # rejected first
    assert problems.loc[0, "reason"] == "PRODUCT_INVALID: still 0" and problems.loc[0, "attempts"] == 2
    assert problems["first_seen_at"].notna().all()  # stamped by the database on the first record
    first = health.first_problems(store.engine)
    assert first[["target", "entity", "record_key"]].values.tolist() == [["squizz", "products", "P2"]]


def test_held_health_reports_the_hubs_held_records_per_entity(store: Store) -> None:
    frame = pd.DataFrame({"user_key": ["U1", "U2"], "organization_number": ["C9", "C9"], "name": ["A", "B"],
                          "email": ["a@example.com", "b@example.com"]})
    store.held.hold("users", frame, "no organizations record with key 'C9'")
    store.held.hold("users", frame.head(1), "no organizations record with key 'C9'")
    (row,) = health.held_health(store.engine).to_dict("records")
    assert (row["target"], row["entity"], row["held"], row["attempts"]) == ("hub", "users", 2, 2)
    held = health.held_problems(store.engine, 10, "users")
    assert held["record_key"].tolist() == ["U1", "U2"] and set(held["state"]) == {"held"}
    assert held["reason"].str.contains("C9").all()
