"""Outbound steps are retried by Dagster when the target cannot be reached, and only then.

squizz/taxcodes over the sample's tax codes: once with SQUIZZ unreachable (nothing listens on the
port), once against the sandbox with a wrong password. The waits between retries are set to zero
so that the test does not sleep through them.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import dagster as dg
import pytest

from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.defs.targets import retries
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

REPO = Path(__file__).resolve().parents[2]
TAXCODES = [dg.AssetKey(["erp", "taxcodes"]), dg.AssetKey(["hub", "taxcodes"]), dg.AssetKey(["squizz", "taxcodes"])]
UNUSED_PARTNER_API = PartnerApiResource(base_url="http://127.0.0.1:9/partner")


@pytest.fixture
def hub_url(tmp_path, monkeypatch) -> str:
    """A hub loaded with the sample's tax codes, so that squizz/taxcodes has records to send."""
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "data" / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "data" / "mapping.yaml")
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "data" / "mapping.yaml"))
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setattr(retries, "FIRST_WAIT_SECONDS", 0.0)
    monkeypatch.setattr(retries, "JITTER_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    loaded = dg.materialize([*erp_assets, *hub_assets], selection=TAXCODES[:2],
                            resources={"store": StoreResource(url=url), "partner_api": UNUSED_PARTNER_API})
    assert loaded.success
    return url


def sync_taxcodes(hub_url: str, squizz: SquizzResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(build_target_assets(SQUIZZ), selection=TAXCODES[2:], raise_on_error=False,
                          resources={"store": StoreResource(url=hub_url), "squizz": squizz})


def step_events(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    return [e for e in result.all_events if e.event_type == kind and e.step_key == "squizz__taxcodes"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: connections are refused


def test_an_unreachable_target_is_retried_twice_then_the_step_fails(hub_url):
    unreachable = SquizzResource(base_url=f"http://127.0.0.1:{closed_port()}/squizz", org_id="org", api_key="key",
                                 api_password="password", retry_budget_seconds=0.2, backoff_factor=0.01)

    result = sync_taxcodes(hub_url, unreachable)

    assert not result.success
    assert len(step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)) == retries.MAX_RETRIES
    assert len(step_events(result, dg.DagsterEventType.STEP_FAILURE)) == 1


def test_refused_credentials_fail_the_step_without_a_retry(hub_url):
    with start_sandboxes() as sandboxes:
        wrong_password = SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                        api_key="sandbox-key", api_password="not-the-password", backoff_factor=0.01)
        result = sync_taxcodes(hub_url, wrong_password)

    assert not result.success
    assert step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY) == []
    failure = step_events(result, dg.DagsterEventType.STEP_FAILURE)[0]
    assert "not-the-password" not in str(failure.event_specific_data.error)


def test_a_reachable_target_syncs_in_one_attempt(hub_url):
    with start_sandboxes() as sandboxes:
        squizz = SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org", api_key="sandbox-key",
                                api_password="sandbox-password", backoff_factor=0.01)
        result = sync_taxcodes(hub_url, squizz)

    assert result.success
    assert step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert Store(hub_url).ledger.counts("squizz", "taxcodes")["sent"] == 10  # the sample's tax codes
