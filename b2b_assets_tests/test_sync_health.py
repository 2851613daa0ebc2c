"""Sync health as a user sees it: checks that turn red at ERROR with the target's full message in a table,
the `ops/sync_health` view agreeing with the ledger, and `b2b-sync sync` reporting a rejection with exit code 2.

Real parts: the Dagster job, the SQLite store, the sandboxes over HTTP on 127.0.0.1, the CLI as a process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from b2b_assets.definitions import defs
from b2b_assets.defs.health.assets import SYNC_HEALTH_KEY
from b2b_assets.defs.health.run_report import FAILED_CHECKS
from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.store import Store
from b2b_assets.store.tables import sync_ledger
from b2b_assets.targets.registry import TARGETS
from b2b_assets.targets.squizz.import_types import import_type
from b2b_assets_tests.test_cli_safety import _free_port
from b2b_assets_tests.test_full_sync import run_sync, sandboxes, workspace  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parent.parent
# Longer than the 80 characters the Markdown samples used to keep, with the part that matters at the end.
VENDOR_MESSAGE = ("The taxcode cannot be imported because organisation sandbox-org has no tax authority registered "
                  "for it; register it under Settings > Taxes, then import again (ref TX-4471)")


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], object]:
    return {("/".join(e.asset_key.path), e.check_name): e
            for e in (event.event_specific_data for event in result.all_events
                      if event.event_type_value == "ASSET_CHECK_EVALUATION")}


def records(value: dg.TableMetadataValue) -> list[dict]:
    return [record.data for record in value.records]


def test_a_vendor_rejection_fails_the_check_at_error_with_the_full_message_in_a_table(workspace, sandboxes, tmp_path):
    sandboxes.squizz.set_faults({"reject": [{"import_type_id": import_type("taxcodes").type_id, "key": "GST",
                                             "code": "TAXCODE_NOT_REGISTERED", "message": VENDOR_MESSAGE}]})
    taxcodes = [a for a in defs.assets if a.key.path[-1] == "taxcodes" or a.key == SYNC_HEALTH_KEY]
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        result = run_sync(url, sandboxes, instance, taxcodes)
        # The same rejection, tolerated by this run's config: the check still fails, but only at WARN.
        tolerated = dg.materialize(
            [a for a in taxcodes if a.key == dg.AssetKey(["squizz", "taxcodes"])], instance=instance,
            run_config={"ops": {"squizz__taxcodes": {"config": {"max_rejected": 1}}}},
            resources={"store": StoreResource(url=url),
                       "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                                api_key="sandbox-key", api_password="sandbox-password")})
    assert result.success and tolerated.success  # a rejection is a red check, not a failed run

    store = Store(url)
    ledger_error = store.ledger.counts("squizz", "taxcodes")["rejected"], _last_error(store, "GST")
    assert ledger_error[0] == 1 and VENDOR_MESSAGE in ledger_error[1] and "TAXCODE_NOT_REGISTERED" in ledger_error[1]
    check = check_evaluations(result)[("squizz/taxcodes", "records_accepted")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    sample = check.metadata["sample"]
    assert isinstance(sample, dg.TableMetadataValue)
    assert [c.name for c in sample.schema.columns] == ["key", "state", "reason", "attempts", "first_seen"]
    (row,) = records(sample)
    assert row["key"] == "GST" and row["state"] == "rejected" and row["reason"] == ledger_error[1]  # whole
    assert row["attempts"] == 1 and row["first_seen"]
    report = metadata_of(result, "squizz/taxcodes")["problems_report"]
    assert isinstance(report, dg.TableMetadataValue) and records(report)[0]["reason"] == ledger_error[1]

    # The sync-health view of the same run: its SQUIZZ row and check carry the full message too.
    health = metadata_of(result, "ops/sync_health")
    row = next(r for r in records(health["sync_health"]) if (r["target"], r["entity"]) == ("squizz", "taxcodes"))
    assert row["rejected"] == 1 and row["first_problem"] == f"GST (rejected): {ledger_error[1]}"
    assert health["squizz/taxcodes rejected"].value == 1
    squizz = check_evaluations(result)[("ops/sync_health", "squizz_records_accepted")]
    assert not squizz.passed and squizz.severity == dg.AssetCheckSeverity.ERROR
    assert check_evaluations(result)[("ops/sync_health", "norce_records_accepted")].passed

    again = check_evaluations(tolerated)[("squizz/taxcodes", "records_accepted")]
    assert not again.passed and again.severity == dg.AssetCheckSeverity.WARN
    assert again.metadata["max_rejected"].value == 1 and records(again.metadata["sample"])[0]["attempts"] == 2
    store.dispose()


def metadata_of(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if "/".join(e.asset_key.path) == key]
    return dict(event.step_materialization_data.materialization.metadata)


def _last_error(store: Store, key: str) -> str:
    with store.engine.connect() as connection:
        return connection.execute(select(sync_ledger.c.last_error).where(sync_ledger.c.record_key == key)).scalar_one()


@pytest.fixture
def cli_workspace(tmp_path):
    """A private copy of the sample export and the environment that points `b2b-sync` at it, on ports of its own."""
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "data" / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "data" / "mapping.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUIZZ_", "PARTNER_", "B2B_", "JOOR_", "NORCE_"))}
    env.update(PYTHONPATH=str(REPO), DAGSTER_HOME=str(tmp_path / "dagster_home"),
               B2B_MAPPING=str(tmp_path / "data" / "mapping.yaml"), B2B_STATE_DIR=str(tmp_path / "state"),
               B2B_REPORTS_DIR=str(tmp_path / "reports"), B2B_SANDBOX_PORT=str(_free_port()),
               B2B_SANDBOX_FTP_PORT=str(_free_port()))
    return env


def test_b2b_sync_prints_the_rejection_exits_2_and_sync_health_agrees_with_the_ledger(cli_workspace, tmp_path):
    """The bundled sample: SQUIZZ refuses a quantity price of 0, and KT-1403 waits for a taxcode SQUIZZ lacks."""
    run = subprocess.run([sys.executable, "-m", "b2b_assets.cli", "sync"], env=cli_workspace, cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == FAILED_CHECKS, run.stdout[-3000:] + run.stderr[-3000:]
    errors = run.stdout.split("failed at ERROR")[1]
    assert "squizz/price_level_quantity_prices records_accepted" in errors
    assert "HW-2102 / TRADE / BOX100 / 200 (invalid): price must be greater than 0 in SQUIZZ" in errors
    assert "SUCCESS" in run.stdout

    store = Store(f"sqlite:///{tmp_path}/state/hub.sqlite")
    with dg.DagsterInstance.from_config(cli_workspace["DAGSTER_HOME"]) as instance:
        health = instance.get_latest_materialization_event(SYNC_HEALTH_KEY).asset_materialization.metadata
        latest = {f"{t.key_prefix}/{o.name}": instance.get_latest_materialization_event(
            dg.AssetKey([t.key_prefix, o.name])).asset_materialization.metadata for t in TARGETS for o in t.objects}
    rows = {(r["target"], r["entity"]): r for r in records(health["sync_health"])}
    for target in TARGETS:
        for obj in target.objects:
            row, ledger = rows[(target.name, obj.name)], store.ledger.counts(target.name, obj.name)
            assert (row["acknowledged"], row["rejected"], row["held"], row["submitted"]) == (
                ledger["sent"], ledger["rejected"], ledger["held"], ledger["submitted"]), obj.name
            outbound = latest[f"{target.key_prefix}/{obj.name}"]
            assert (row["sent"], row["unchanged"]) == (outbound["records_sent"].value,
                                                       outbound["records_unchanged"].value), obj.name
            assert health[f"{target.name}/{obj.name} rejected"].value == ledger["rejected"]
    assert rows[("squizz", "price_level_quantity_prices")]["rejected"] == 1
    assert rows[("squizz", "products")]["held"] == 1 and rows[("squizz", "products")]["oldest_held_hours"] >= 0
    assert {e: r["held"] for (t, e), r in rows.items() if t == "hub"} == store.held.counts()
    problems = records(health["rejected_and_held"])
    (zero_price,) = [p for p in problems if p["entity"] == "price_level_quantity_prices"]
    assert (zero_price["target"], zero_price["key"], zero_price["state"], zero_price["reason"]) == (
        "squizz", "HW-2102 / TRADE / BOX100 / 200", "rejected", "price must be greater than 0 in SQUIZZ")
    assert [p["state"] for p in problems].index("held") > [p["state"] for p in problems].index("rejected")
    assert any(p["key"] == "KT-1403" and p["state"] == "held" and "TX-EXPORT0" in p["reason"] for p in problems)
    store.dispose()
