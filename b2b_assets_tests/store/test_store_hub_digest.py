"""One digest across the batches of a load: unchanged rows are not staged, and what the load wrote
earlier is what later batches are compared with; keys whose hashes collide are never trusted."""

from __future__ import annotations

import pandas as pd

from b2b_assets.model import Entity, entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import Store, UpsertCounts
from b2b_assets.store.hub_digest import HubDigest
from b2b_assets.store.key_index import KeySet, frame_hashes


def organizations(names: list[str], start: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"organization_number": [f"CUST-{i}" for i in range(start, start + len(names))],
                         "organization_name": names})


def hub_names(store: Store) -> dict[str, str]:
    hub = store.hub.read_all("organizations")
    return dict(zip(hub["organization_number"], hub["organization_name"]))


def test_a_load_compares_later_batches_with_what_its_earlier_batches_wrote(store: Store) -> None:
    store.hub.upsert("organizations", organizations(["A", "B"]))
    digest = store.hub.digest("organizations")

    # CUST-1 changes, then changes back within the same load: the digest must not still hold "A" for it.
    assert store.hub.upsert("organizations", organizations(["A2"]), digest) == UpsertCounts(0, 1, 0)
    assert store.hub.upsert("organizations", organizations(["A"]), digest) == UpsertCounts(0, 1, 0)
    # A key the load inserted is in the hub for its later batches: updated, or unchanged, not inserted again.
    assert store.hub.upsert("organizations", organizations(["C"], start=3), digest) == UpsertCounts(1, 0, 0)
    assert store.hub.upsert("organizations", organizations(["C2"], start=3), digest) == UpsertCounts(0, 1, 0)
    assert store.hub.upsert("organizations", organizations(["C2"], start=3), digest) == UpsertCounts(0, 0, 1)

    assert hub_names(store) == {"CUST-1": "A", "CUST-2": "B", "CUST-3": "C2"}
    assert len(store.hub.digest("organizations")) == 3


def test_keys_sharing_a_hash_are_staged_and_counted_exactly(store: Store) -> None:
    store.hub.upsert("organizations", organizations(["A", "B"]))
    stored = store.hub.read_all("organizations", with_meta=True)
    # CUST-2 filed under CUST-1's key hash, as two keys whose hashes collide would be: CUST-1 may not be
    # skipped on the strength of either row hash, nor CUST-2 counted as new for its own hash being absent.
    ent = entity("organizations")
    keys = Entity(ent.name, ent.description, ent.key, (ent.field("organization_number"),))
    first_key = frame_hashes(cast_frame(keys, stored[["organization_number"]].iloc[[0, 0]]))
    collided = HubDigest(keys, first_key, stored["_row_hash"].to_numpy(dtype="int64"))

    counts = store.hub.upsert("organizations", organizations(["A", "B2", "C"]), collided)

    assert counts == UpsertCounts(inserted=1, updated=1, unchanged=1)
    assert hub_names(store) == {"CUST-1": "A", "CUST-2": "B2", "CUST-3": "C"}


def test_key_set_answers_exactly() -> None:
    known = KeySet(pd.Series([f"P{i:06d}" for i in range(10_000)] + [None, "P000001"], dtype="string"))
    probe = pd.Series(["P000001", "P009999", "P010000", None, "", "p000001"], dtype="string")
    assert known.isin(probe).tolist() == [True, True, False, False, False, False]
    assert KeySet(pd.Series([], dtype="string")).isin(probe).tolist() == [False] * 6


def test_a_load_in_many_batches_knows_every_row_it_wrote_and_its_changes(store: Store) -> None:
    digest = store.hub.digest("organizations")  # an empty hub: every batch adds keys the digest then holds
    names = [f"N{i}" for i in range(1, 61)]
    for start in range(0, 60, 7):
        counts = store.hub.upsert("organizations", organizations(names[start:start + 7], start + 1), digest)
        assert counts == UpsertCounts(len(names[start:start + 7]), 0, 0)

    names[3], names[40] = "changed", "changed too"
    assert store.hub.upsert("organizations", organizations(names), digest) == UpsertCounts(0, 2, 58)
    assert store.hub.upsert("organizations", organizations(["new"], 61), digest) == UpsertCounts(1, 0, 0)
    assert len(digest) == 61
    assert hub_names(store) == {f"CUST-{i}": name for i, name in enumerate([*names, "new"], start=1)}
