"""Which hub records a full export contained, as `load_entity` leaves them, on SQLite and PostgreSQL:
a reload that changes nothing writes nothing, yet a record the export dropped is flagged absent and one
that comes back is present again, also when the export's count matches the hub's because a record was held."""

from __future__ import annotations

import pytest

from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.sources import parse_mapping
from b2b_assets.store import Store

ORGS = "organization_number,organization_name,status\nC-1,Acme,active\n"
HEADER = "organization_number,location_id,location_name,address1,city,country\n"


def location(org: str, location_id: str) -> str:
    return f"{org},{location_id},Store {location_id},1 Main Street,Lyon,FR\n"


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url)
    store.create_all()
    mapping = parse_mapping({"inbox": "inbox", "sources": {"organizations": {"file": "orgs.csv"},
                                                             "locations": {"file": "locations.csv"}}},
                            base_dir=tmp_path)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "orgs.csv").write_text(ORGS)
    try:
        yield store, mapping, tmp_path
    finally:
        store.dispose()


def load(env, name: str, run_id: str, content: str | None = None):
    store, mapping, tmp = env
    if content is not None:
        (tmp / "inbox" / f"{name}.csv").write_text(content)
    stage_entity(name, mapping, store, tmp / "staging", tmp / "reports", run_id)
    return load_entity(store, tmp / "staging", name)


def absent(store: Store) -> list[str]:
    return sorted(store.hub.absent_keys("locations")["location_id"])


def test_a_full_export_flags_dropped_records_absent_and_returning_ones_present(env):
    store = env[0]
    load(env, "organizations", "run-0")
    first = load(env, "locations", "run-1", HEADER + location("C-1", "L1") + location("C-1", "L2"))
    assert (first.inserted, first.absent_from_export) == (2, 0)
    again = load(env, "locations", "run-2", HEADER + location("C-1", "L1") + location("C-1", "L2"))
    assert (again.unchanged, again.absent_from_export) == (2, 0) and absent(store) == []

    # Two keys in the export and two in the hub, but not the same two: L3's organization is missing, so it is held.
    dropped = load(env, "locations", "run-3", HEADER + location("C-1", "L1") + location("C-9", "L3"))
    assert (dropped.held, dropped.absent_from_export) == (1, 1) and absent(store) == ["L2"]

    back = load(env, "locations", "run-4", HEADER + location("C-1", "L1") + location("C-1", "L2"))
    assert (back.unchanged, back.absent_from_export) == (2, 0) and absent(store) == []
