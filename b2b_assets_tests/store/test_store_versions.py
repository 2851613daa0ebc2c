"""Hub change versions move with what a load changed, and only then; outbound marks round-trip."""

from __future__ import annotations

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


def test_a_mark_round_trips(store: Store) -> None:
    assert store.marks.get("squizz", "taxcodes") is None
    mark = Mark("run-1", "f" * 64, {"hub": {"taxcodes": 3}, "references": {}}, {"version": 2, "waiting": False},
                {"total": 2, "nested_held": 0, "deletions_pending": 0, "deletion_candidates": 0})
    store.marks.put("squizz", "taxcodes", mark)
    assert store.marks.get("squizz", "taxcodes") == mark
    store.marks.forget("squizz", "taxcodes")
    assert store.marks.get("squizz", "taxcodes") is None
