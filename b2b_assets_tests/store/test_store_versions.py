"""Hub change versions move with what a load changed, and only then; outbound marks round-trip."""

from __future__ import annotations

import pandas as pd

from b2b_assets.store import Store
from b2b_assets.store.marks import Mark

from b2b_assets_tests.store.test_store_hub import organizations


def test_the_version_moves_only_when_a_load_changes_the_entity(store: Store) -> None:
    assert store.versions.of(["organizations", "users"]) == {"organizations": 0, "users": 0}
    store.hub.upsert("organizations", organizations(3))
    assert store.versions.of(["organizations"]) == {"organizations": 1}
    store.hub.upsert("organizations", organizations(3))  # the same export again
    store.hub.mark_presence("organizations", organizations(3))  # nothing flips
    assert store.versions.of(["organizations", "users"]) == {"organizations": 1, "users": 0}

    renamed = organizations(3)
    renamed.loc[0, "organization_name"] = "Renamed Jewelers"
    store.hub.upsert("organizations", renamed)
    assert store.versions.of(["organizations"]) == {"organizations": 2}
    store.hub.mark_presence("organizations", organizations(2))  # CUST-3 left the export
    assert store.versions.of(["organizations"]) == {"organizations": 3}
    store.hub.mark_presence("organizations", organizations(3))  # and came back
    assert store.versions.of(["organizations"]) == {"organizations": 4}


def test_a_mark_round_trips_and_any_ledger_write_changes_the_summary(store: Store) -> None:
    assert store.marks.get("squizz", "taxcodes") is None
    store.ledger.record("squizz", "taxcodes", pd.DataFrame({"record_key": ["GST", "FRE"], "payload_hash": [1, 2],
                                                            "state": ["sent", "rejected"]}))
    summary = store.marks.ledger_summary("squizz", "taxcodes")
    assert {state: rows for state, (rows, _attempts, _last) in summary.items()} == {"sent": 1, "rejected": 1}
    mark = Mark("run-1", "f" * 64, {"hub": {"taxcodes": 3}, "references": {}}, summary,
                {"total": 2, "nested_held": 0, "deletions_pending": 0, "deletion_candidates": 0})
    store.marks.put("squizz", "taxcodes", mark)
    assert store.marks.get("squizz", "taxcodes") == mark
    assert store.marks.ledger_summary("squizz", "taxcodes") == summary  # reading twice gives the same summary

    # A resend with another hash keeps every count and still moves the summary.
    store.ledger.record("squizz", "taxcodes", pd.DataFrame({"record_key": ["GST"], "payload_hash": [9],
                                                            "state": ["sent"]}))
    assert store.marks.ledger_summary("squizz", "taxcodes") != summary
    store.marks.forget("squizz", "taxcodes")
    assert store.marks.get("squizz", "taxcodes") is None
