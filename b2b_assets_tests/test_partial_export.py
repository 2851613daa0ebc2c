"""A partial export (organizations, locations, users, products and prices only) syncs to SUCCESS.

The whole Dagster graph runs against the SQUIZZ sandbox over HTTP, on the sample export's
files for those five entities and a mapping that names only them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from b2b_assets import cli
from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.model import ENTITIES, entity
from b2b_assets.model.frames import cast_frame, empty_frame
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.mapping import to_payload
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

REPO = Path(__file__).resolve().parent.parent
EXPORTED = ("organizations", "locations", "users", "products", "unit_prices")


@pytest.fixture
def partial(tmp_path, monkeypatch):
    sample = yaml.safe_load((REPO / "data" / "mapping.yaml").read_text())
    sample["sources"] = {name: sample["sources"][name] for name in EXPORTED}
    (tmp_path / "inbox").mkdir()
    for spec in sample["sources"].values():
        shutil.copy(REPO / "data" / "inbox" / spec["file"], tmp_path / "inbox" / spec["file"])
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(sample, allow_unicode=True))
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def test_partial_export_syncs_to_success_and_the_summary_notes_what_is_not_synced(partial, capsys):
    url = f"sqlite:///{partial}/hub.sqlite"
    with start_sandboxes() as sandboxes, dg.instance_for_test() as instance:
        result = dg.materialize(
            [*erp_assets, *hub_assets, *build_target_assets(SQUIZZ)], instance=instance, raise_on_error=False,
            resources={
                "store": StoreResource(url=url),
                "partner_api": PartnerApiResource(base_url=f"{sandboxes.base_url}/partner"),
                "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                         api_key="sandbox-key", api_password="sandbox-password", backoff_factor=0.05),
            })
        assert result.success
        accounts = [r for r in sandboxes.squizz.records(17) if r.get("active", True)]  # customer accounts
    outcome = {e.asset_key.path[-1]: {k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()}
               for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "squizz"}
    store = Store(url)
    for name in EXPORTED:
        assert store.hub.count(name) > 0, name
    not_mapped = load_mapping(partial / "mapping.yaml").not_mapped
    assert len(not_mapped) == len(ENTITIES) - len(EXPORTED) == 16
    # Every customer names a price level, sales rep or payment type the export lacks: each is held for SQUIZZ
    # (not refused, not lost), and none reached it.
    customers = outcome["customer_accounts"]
    assert customers["records_total"] > 0 and customers["records_held"] == customers["records_total"]
    assert customers["records_rejected"] == 0 and not accounts

    cli.print_summary(result, not_mapped)
    out = capsys.readouterr().out
    assert out.count("not in the mapping, so not synced: ") == 1 and "alternate_codes" in out
    table = out.split("Checks that did not pass")[0]
    assert "erp/alternate_codes" not in table and "hub/alternate_codes" not in table
    assert "erp/organizations" in table
    erp = {k: int(v) for k, v in (p.split("=") for p in table.split("erp/users")[1].splitlines()[0].split())}
    assert erp["read"] == erp["valid"] + erp["quarantined"]


def test_a_dependent_of_an_entity_the_mapping_lacks_is_held_with_a_reason_naming_it(partial):
    document = yaml.safe_load((partial / "mapping.yaml").read_text())
    document["sources"] = {"locations": document["sources"]["locations"]}
    (partial / "mapping.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    mapping = load_mapping(partial / "mapping.yaml")
    store = Store(f"sqlite:///{partial}/hub.sqlite")
    store.create_all()
    stage_entity("locations", mapping, store, partial / "staging", partial / "reports", "run-1")
    load = load_entity(store, partial / "staging", "locations", frozenset(mapping.not_mapped))
    assert load.held > 0 and load.inserted == 0
    reasons = store.held.load("locations")["_held_reason"]
    assert reasons.str.contains("no organizations record with key").all()
    assert reasons.str.contains("organizations is not in the mapping").all()
    store.dispose()


def test_a_discontinued_or_inactive_product_is_not_offered_on_squizz():
    products = cast_frame(entity("products"), pd.DataFrame(
        {"product_id": ["P1", "P2", "P3"], "name": ["Kettle", "Whisk", "Pan"],
         "status": ["active", "discontinued", "inactive"]}))
    frames = {"products": products, "product_sell_units": empty_frame(entity("product_sell_units"))}
    payload = to_payload("products", frames)
    assert payload.records["keyProductID"].tolist() == ["P1"]


def test_hub_entities_no_target_reads_are_named():
    from b2b_assets.defs.coverage import hub_entities_no_target_reads
    from b2b_assets.definitions import defs

    from b2b_assets.defs.resources import default_partner_api, default_store

    squizz_only = dg.Definitions(assets=[*erp_assets, *hub_assets, *build_target_assets(SQUIZZ)],
                                 resources={"store": default_store(), "partner_api": default_partner_api(),
                                            SQUIZZ.resource_key: SQUIZZ.default_resource()})
    unread = hub_entities_no_target_reads(squizz_only)
    assert {"locations", "users"} <= set(unread)  # seed-000 customer data SQUIZZ does not take
    assert "organizations" not in unread and "products" not in unread
    assert "users" not in hub_entities_no_target_reads(defs)  # every registered target counts: Norce takes users
