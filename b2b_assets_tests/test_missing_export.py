"""A missing export file fails its erp asset in one line, unless the mapping marks the entity optional.

The sample export without customers.txt: before, erp/organizations succeeded with read=0 and one warning,
and on a fresh hub every location and user was then held for want of its organization.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.sources.check import check_mapping

REPO = Path(__file__).resolve().parent.parent
ORGANIZATIONS = [a for a in erp_assets if a.key == dg.AssetKey(["erp", "organizations"])]


@pytest.fixture
def without_customers(tmp_path, monkeypatch):
    """The sample export less its customer master file."""
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "inbox")
    (tmp_path / "inbox" / "customers.txt").unlink()
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "mapping.yaml")
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def stage_organizations(directory: Path) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return dg.materialize(ORGANIZATIONS, instance=instance, raise_on_error=False, resources={
            "store": StoreResource(url=f"sqlite:///{directory}/hub.sqlite"),
            # The mapping reads files only: the partner API is never called.
            "partner_api": PartnerApiResource(base_url="http://127.0.0.1:9/partner")})


def test_a_missing_export_file_fails_its_erp_asset_with_a_one_line_reason(without_customers):
    result = stage_organizations(without_customers)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    reason = failure.step_failure_data.user_failure_data.description
    assert "\n" not in reason
    assert "customers.txt" in reason and "sources.organizations" in reason and "mapping.yaml:" in reason
    assert "optional: true" in reason  # what to do if the export may lack it
    checked = check_mapping(without_customers / "mapping.yaml")
    assert not checked.ok and reason in checked.errors


def test_an_optional_entity_without_its_file_is_skipped_and_the_run_succeeds(without_customers):
    mapping = without_customers / "mapping.yaml"
    document = yaml.safe_load(mapping.read_text())
    document["sources"]["organizations"]["optional"] = "true"
    mapping.write_text(yaml.safe_dump(document, allow_unicode=True))
    result = stage_organizations(without_customers)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.step_materialization_data.materialization.metadata["rows_read"].value == 0
    checked = check_mapping(mapping)
    assert checked.ok and any("customers.txt" in note and "optional" in note for note in checked.notes)
