"""The sample export's organizations, locations and users, mapped and sent to the Norce sandbox: it equals the hub.

This drives the target's own sender batch by batch (no outbound core), so it holds whatever the core does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from b2b_assets.defs.norce.resources import NorceResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import Batch
from b2b_assets.targets.norce.target import TARGET

from .readback import differences, expected_companies, expected_customers

DATA = Path(__file__).resolve().parents[3] / "data"


@pytest.fixture(scope="module")
def hub_frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("norce_sample")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    mapping = load_mapping(root / "mapping.yaml")
    for name in load_order(["organizations", "locations", "users"]):
        stage_entity(name, mapping, store, root / "staging", root / "reports", "run", partner_api=None)
        load_entity(store, root / "staging", name)
    frames = {name: store.hub.read_all(name, in_source=True) for name in ("organizations", "locations", "users")}
    store.dispose()
    return frames


def test_every_valid_organization_and_user_lands_equal_to_the_hub(hub_frames) -> None:
    assert len(hub_frames["organizations"]) == 25 and len(hub_frames["users"]) == 49
    with start_sandboxes() as running:
        resource = NorceResource(base_url=f"{running.base_url}/norce", client_id="sandbox-client",
                                 client_secret="sandbox-secret", application_key=DEFAULT_APPLICATION_KEY)
        sender = TARGET.sender(resource)
        for obj in TARGET.objects:
            payload = obj.to_payload({name: hub_frames[name] for name in obj.source_entities})
            assert obj.limits(payload).empty
            for start in range(0, len(payload.records), 20):  # several jobs per object
                status = sender.poll(sender.submit(Batch(obj, payload, payload.records.iloc[start:start + 20])))
                assert status.finished and not status.failed and not status.rejected, status
        assert differences(expected_companies(hub_frames), running.norce.companies()) == []
        assert differences(expected_customers(hub_frames), running.norce.customers()) == []
        assert running.norce.stats()["tokens_issued"] == 1
        assert all(job["FieldsCleared"] == {} for job in running.norce.jobs())
        resource.client().close()
