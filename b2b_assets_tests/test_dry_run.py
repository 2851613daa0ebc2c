"""The `plan` job (`make plan`): a dry run that writes no hub row, no ledger row and no materialization.

Real parts only: the Dagster job in process, a SQLite store, the sandboxes over HTTP on 127.0.0.1.
"""

from __future__ import annotations

from decimal import Decimal

import re
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from b2b_assets.cli import print_plan
from b2b_assets.definitions import assets as sync_assets, defs
from b2b_assets.defs.ops.plan import DRY_RUN_TAG, build_plan_job, plan_rows
from b2b_assets.model import ENTITIES
from b2b_assets.store import Store
from b2b_assets.store.tables import held_records, quarantine, source_cursors, sync_ledger
from b2b_assets.targets.registry import TARGETS
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES
from b2b_assets_tests.test_full_sync import (  # noqa: F401 - sandboxes and workspace are fixtures
    metadata_by_asset, run_sync, sandbox_resources, sandboxes, workspace,
)


def run_plan(hub_url: str, sandboxes, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("plan").execute_in_process(
        instance=instance, resources=sandbox_resources(hub_url, sandboxes), raise_on_error=False)


def observations(result: dg.ExecuteInProcessResult) -> list[dg.AssetObservation]:
    return [e.event_specific_data.asset_observation for e in result.all_events
            if e.event_type_value == "ASSET_OBSERVATION"]


def rows_in(store: Store, *tables: sa.Table) -> int:
    with store.engine.connect() as connection:
        return sum(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables)


def test_a_dry_run_on_a_fresh_state_writes_nothing_and_plans_what_the_next_sync_sends(workspace, sandboxes, tmp_path,
                                                                                      capsys):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        dry = run_plan(url, sandboxes, instance)
        assert dry.success
        assert instance.get_run_by_id(dry.run_id).tags[DRY_RUN_TAG] == "true"
        every_event = instance.all_logs(dry.run_id)
        assert not [e for e in every_event if e.dagster_event and e.dagster_event.is_step_materialization]
        every_asset = {key for a in defs.assets for key in a.keys}
        assert all(instance.get_latest_materialization_event(key) is None for key in every_asset)
        # Each asset of the sync says what it would do; ops/sync_health reports the ledger, which a dry run leaves.
        assert {o.asset_key for o in observations(dry)} == {key for a in sync_assets for key in a.keys}

        store = Store(url)
        assert all(store.hub.count(model.name) == 0 for model in ENTITIES)
        assert rows_in(store, sync_ledger, held_records, quarantine, source_cursors) == 0
        assert sandboxes.squizz.stats()["tokens_spent"] == 0
        assert all(not sandboxes.squizz.records(spec.type_id) for spec in IMPORT_TYPES)
        assert not sandboxes.joor.connections() and not sandboxes.joor_ftp.files()
        assert not sandboxes.norce.customers()

        real = run_sync(url, sandboxes, instance)
    assert real.success
    planned = {row["asset"]: row for row in plan_rows(observations(dry))}
    sent = metadata_by_asset(real)
    assert set(planned) == {f"{t.key_prefix}/{o.name}" for t in TARGETS for o in t.objects}
    for asset, row in planned.items():  # the sandboxes refuse nothing valid, so the plan is what the run did
        done = sent[asset]
        assert (row["new"] + row["changed"], row["unchanged"], row["held"], row["invalid"]) == (
            done["records_sent"], done["records_unchanged"], done["records_held"], done["records_rejected"]), asset
        assert row["cost"] == f"{done['cost_spent']} {done['cost_unit']}", asset
    assert sum(row["new"] for row in planned.values()) > 900 and any(row["held"] for row in planned.values())
    # The key lists are where the printed plan says, and hold exactly the keys the real run sent.
    capsys.readouterr()
    print_plan(dry)
    printed = capsys.readouterr().out
    keys_dir = tmp_path / "state" / "dry_runs" / dry.run_id / "keys"
    assert f"under {keys_dir}" in printed
    assert re.search(r"^squizz/taxcodes +10 +0 +0 +0 +0 +0 +10 trading tokens +squizz__taxcodes.parquet$", printed, re.M)
    for asset, row in planned.items():
        target = next(t for t in TARGETS for o in t.objects if f"{t.key_prefix}/{o.name}" == asset)
        listed = set(pd.read_parquet(keys_dir / Path(row["keys"]).name)["record_key"])
        assert listed == set(store.ledger.keys_in_state(target.name, asset.split("/")[1], "sent")), asset
    for model in ENTITIES:
        assert sent[f"hub/{model.name}"]["rows_inserted"] == store.hub.count(model.name)


def test_a_dry_run_after_a_change_plans_the_update_against_the_real_hub_and_ledger_and_leaves_both(
        workspace, sandboxes, tmp_path):
    """One tax rate changes in the export: the plan says one hub update and one SQUIZZ resend; the hub keeps the old
    rate until the real run, which sends exactly that one record."""
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    taxcodes = [a for a in defs.assets if a.key.path[-1] == "taxcodes"]
    plan = build_plan_job(taxcodes)
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance, taxcodes).success
        export = workspace / "inbox" / "taxcodes.csv"
        export.write_text(export.read_text(encoding="utf-8-sig").replace("GST,GST,10,", "GST,GST,12.5,"),
                          encoding="utf-8-sig")
        store = Store(url)
        ledger_before = store.ledger.load("squizz", "taxcodes")
        dry = plan.execute_in_process(instance=instance, resources=sandbox_resources(url, sandboxes))
        planned = {o.asset_key.to_user_string(): {k: v.value for k, v in o.metadata.items()} for o in observations(dry)}
        assert (planned["hub/taxcodes"]["rows_updated"], planned["hub/taxcodes"]["rows_unchanged"]) == (1, 9)
        [row] = plan_rows(observations(dry))
        assert (row["new"], row["changed"], row["unchanged"]) == (0, 1, 9)
        hub = store.hub.read_all("taxcodes")
        assert hub.loc[hub["tax_code_id"] == "GST", "rate_percent"].iloc[0] == Decimal("10")  # the old rate, still
        assert store.ledger.load("squizz", "taxcodes").equals(ledger_before)
        real = run_sync(url, sandboxes, instance, taxcodes)
    assert metadata_by_asset(real)["squizz/taxcodes"]["records_sent"] == 1
