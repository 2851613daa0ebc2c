"""Organizations, locations and users pulled from a vendor's GET API (seed 000's shape) into the hub."""

from __future__ import annotations

import pytest

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import API_SOURCE, stage_entity
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import PartnerApiClient, PartnerApiError, parse_mapping
from b2b_assets.store import Store
from b2b_assets.targets.core.http import RetryPolicy

ENTITIES = load_order(["organizations", "locations", "users"])
ORGS = [
    {"organization_number": "CUST-1001", "organization_name": "Example Jewelers", "status": "active",
     "sales_incentive": True, "sales_rep_email": "rep@example.com"},
    {"organization_number": "CUST-1002", "organization_name": "Bijouterie Élégance", "status": "Inactive"},
]
LOCATIONS = [
    {"organization_number": "CUST-1001", "location_id": "CUST-1001-NYC", "location_name": "Manhattan",
     "address1": "123 Main St", "city": "New York", "state": "NY", "postal_code": "10001", "country": "US"},
    {"organization_number": "CUST-1003", "location_id": "CUST-1003-PAR", "location_name": "",
     "address1": "1 Rue de Rivoli", "city": "Paris", "country": "FRA"},
]
USERS = [
    {"organization_number": "CUST-1001", "user_id": "USR-9001", "username": "jsmith", "name": "Jane Smith",
     "email": "jane.smith@example.com", "active": True},
    {"organization_number": "CUST-1002", "username": "pdupont", "name": "Paul Dupont", "email": "not-an-email"},
]


@pytest.fixture
def env(tmp_path):
    with start_sandboxes() as sandboxes:
        store = Store(f"sqlite:///{tmp_path}/hub.sqlite")
        store.create_all()
        mapping = parse_mapping({"sources": {name: {"api": name} for name in ENTITIES}}, base_dir=tmp_path)
        yield sandboxes, store, mapping, tmp_path


def sync(env, run_id: str, client: PartnerApiClient) -> dict:
    sandboxes, store, mapping, tmp = env
    results = {}
    for name in ENTITIES:
        staged = stage_entity(name, mapping, store, tmp / "staging", tmp / "reports", run_id, client)
        results[name] = (staged, load_entity(store, tmp / "staging", name))
    return results


def client_for(sandboxes) -> PartnerApiClient:
    retry = RetryPolicy(budget_seconds=0.5, backoff_factor=0.01, backoff_jitter=0.01)
    return PartnerApiClient(f"{sandboxes.base_url}/partner", retry=retry)


def test_full_then_incremental_pull_lands_the_orphan_once_its_organization_arrives(env):
    sandboxes, store, *_ = env
    sandboxes.partner.upsert_many({"organizations": ORGS, "locations": LOCATIONS, "users": USERS})
    with client_for(sandboxes) as client:
        first = sync(env, "run-1", client)
    assert store.hub.count("organizations") == 2
    assert store.hub.read_all("organizations").set_index("organization_number").loc["CUST-1002", "status"] == "inactive"
    assert first["locations"][1].held == 1  # CUST-1003 does not exist yet
    assert first["users"][0].rows_quarantined == 1  # the invalid email, with file, row and field
    issue = first["users"][0].issues.iloc[0]
    assert (issue["source"], issue["row_number"], issue["field"]) == ("partner_api/users", 2, "email")
    assert store.cursors.get(API_SOURCE, "organizations") is not None

    sandboxes.partner.upsert_many({"organizations": [{"organization_number": "CUST-1003",
                                                      "organization_name": "Maison Rivoli"}]})
    with client_for(sandboxes) as client:
        second = sync(env, "run-2", client)
    assert second["organizations"][0].rows_read == 1  # only what changed since the cursor
    assert second["locations"][0].rows_read == 0
    assert second["locations"][1].released == 1  # retried from the held table, not from the export
    paris = store.hub.read_all("locations").set_index("location_id").loc["CUST-1003-PAR"]
    assert paris["location_name"] == "Paris" and paris["country"] == "FR"  # seed 000: city as name fallback


def test_a_failed_pull_does_not_advance_the_cursor(env):
    sandboxes, store, mapping, tmp = env
    sandboxes.partner.upsert_many({"organizations": ORGS})
    with client_for(sandboxes) as client:
        sync(env, "run-1", client)
    cursor = store.cursors.get(API_SOURCE, "organizations")
    sandboxes.partner.upsert_many({"organizations": [{"organization_number": "CUST-2000", "organization_name": "New"}]})
    sandboxes.partner.set_faults({"server_error": 1.0, "server_error_statuses": [503]})
    with client_for(sandboxes) as client, pytest.raises(PartnerApiError, match="503"):
        stage_entity("organizations", mapping, store, tmp / "staging", tmp / "reports", "run-2", client)
    assert store.cursors.get(API_SOURCE, "organizations") == cursor
    sandboxes.partner.set_faults({})
    with client_for(sandboxes) as client:
        sync(env, "run-3", client)
    assert "CUST-2000" in set(store.hub.read_all("organizations")["organization_number"])


def test_a_failed_hub_load_after_a_good_pull_keeps_the_cursor_and_the_next_pull_brings_the_records_back(env):
    sandboxes, store, mapping, tmp = env
    sandboxes.partner.upsert_many({"organizations": ORGS})
    with client_for(sandboxes) as client:
        sync(env, "run-1", client)
    cursor = store.cursors.get(API_SOURCE, "organizations")
    sandboxes.partner.upsert_many({"organizations": [{"organization_number": "CUST-3000", "organization_name": "Late"}]})
    with client_for(sandboxes) as client:
        staged = stage_entity("organizations", mapping, store, tmp / "staging", tmp / "reports", "run-2", client)
    assert staged.rows_valid == 1
    (tmp / "staging" / "organizations.parquet").write_bytes(b"not parquet")  # the disk lost the staged pull
    with pytest.raises(Exception):  # noqa: B017 - whatever the failure, the point is what it leaves behind
        load_entity(store, tmp / "staging", "organizations")
    assert store.cursors.get(API_SOURCE, "organizations") == cursor
    with client_for(sandboxes) as client:
        again = sync(env, "run-3", client)
    assert again["organizations"][0].rows_valid == 1  # pulled again, since the cursor did not pass it
    assert "CUST-3000" in set(store.hub.read_all("organizations")["organization_number"])
    assert store.cursors.get(API_SOURCE, "organizations") > cursor


@pytest.mark.parametrize("second_pull", ["empty", "all invalid", "full but all invalid"])
def test_an_empty_or_all_invalid_pull_after_a_full_one_marks_nothing_absent(env, second_pull):
    sandboxes, store, mapping, tmp = env
    sandboxes.partner.upsert_many({"organizations": ORGS})
    with client_for(sandboxes) as client:
        sync(env, "run-1", client)
    if second_pull != "empty":
        sandboxes.partner.upsert_many({"organizations": [{**o, "status": "on holiday"} for o in ORGS]})
    if second_pull == "full but all invalid":
        with store.engine.begin() as connection:  # an operator forcing a full pull
            connection.exec_driver_sql("DELETE FROM source_cursors")
    with client_for(sandboxes) as client:
        staged, loaded = sync(env, "run-2", client)["organizations"]
    assert staged.rows_valid == 0 and staged.rows_quarantined == (0 if second_pull == "empty" else 2)
    assert loaded.absent_from_export == 0
    assert len(store.hub.read_all("organizations", in_source=True)) == 2  # what outbound plans from: no deletion
