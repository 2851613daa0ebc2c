"""The whole asset graph through Dagster: what `make sync` does, on the bundled sample export.

Real parts only: the Dagster job, the SQLite (or PostgreSQL) store, the
sandboxes over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._serdes import serialize_value

from b2b_assets.cli import print_summary
from b2b_assets.definitions import defs
from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.joor.ftp_resources import JoorFtpResource
from b2b_assets.defs.joor.resources import JoorResource
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.defs.norce.resources import NorceResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.model import ENTITIES
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.store.tables import sync_ledger
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, import_type
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

REPO = Path(__file__).resolve().parent.parent
EXPECTED = json.loads((REPO / "data" / "sample_expectations.json").read_text())["entities"]
squizz_assets = build_target_assets(SQUIZZ)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A private copy of the sample export and state directories, pointed at by the settings' variables."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "inbox", data / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", data / "mapping.yaml")
    monkeypatch.setenv("B2B_MAPPING", str(data / "mapping.yaml"))
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    return data


@pytest.fixture
def sandboxes():
    with start_sandboxes() as running:
        yield running


def run_sync(hub_url: str, sandboxes, instance: dg.DagsterInstance, assets=None) -> dg.ExecuteInProcessResult:
    """Every asset definitions.py registers (every target in the registry), unless `assets` narrows it."""
    return dg.materialize(assets or list(defs.assets), instance=instance, resources=sandbox_resources(hub_url, sandboxes),
                          raise_on_error=False)


def sandbox_resources(hub_url: str, sandboxes) -> dict:
    """Every resource of the sync, pointed at the test's store and sandboxes."""
    return {
        "store": StoreResource(url=hub_url),
        "partner_api": PartnerApiResource(base_url=f"{sandboxes.base_url}/partner"),
        "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                 api_key="sandbox-key", api_password="sandbox-password", backoff_factor=0.05),
        "joor": JoorResource(base_url=f"{sandboxes.base_url}/joor", token="sandbox-token",
                             poll_interval_seconds=0.05, backoff_factor=0.05),
        "joor_ftp": JoorFtpResource(host=sandboxes.joor_ftp.host, port=sandboxes.joor_ftp.port,
                                    username="sandbox-joor", password="sandbox-ftp-password"),
        "norce": NorceResource(base_url=f"{sandboxes.base_url}/norce", client_id="sandbox-client",
                               client_secret="sandbox-secret", application_key=DEFAULT_APPLICATION_KEY,
                               poll_interval_seconds=0.05, backoff_factor=0.05),
    }


def metadata_by_asset(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.step_materialization_data.materialization
        out["/".join(m.asset_key.path)] = {k: v.value for k, v in m.metadata.items()}
    return out


def test_first_sync_loads_valid_rows_quarantines_bad_ones_and_holds_orphans(workspace, sandboxes, tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    caplog.set_level(logging.INFO)
    with dg.instance_for_test() as instance:
        result = run_sync(url, sandboxes, instance)
    assert result.success
    # One SQUIZZ session serves the whole run and is destroyed at its end.
    requests_seen = [r.getMessage() for r in caplog.records]
    assert sum("/create_session" in m for m in requests_seen) == 1
    assert sum("/destroy_session" in m for m in requests_seen) == 1
    store = Store(url)
    meta = metadata_by_asset(result)
    for name, expected in EXPECTED.items():
        assert store.hub.count(name) == expected["hub_rows"], name
        quarantined = store.quarantine.latest(name)
        assert meta[f"erp/{name}"]["rows_quarantined"] == len(expected["quarantined_rows"]), name
        for bad in expected["quarantined_rows"]:
            rows = quarantined[(quarantined["row_number"] == bad["row"]) & quarantined["source"].str.endswith(bad["file"])]
            assert not rows.empty, f"{name}: expected row {bad['row']} of {bad['file']} in quarantine"
            assert rows["reason"].str.len().min() > 10  # a reason a person can read
        assert store.held.count(name) == len(expected["held"]), name
    # The standard metadata keys on every asset, as plain numbers the UI can plot.
    for model in ENTITIES:
        assert {"rows_read", "rows_valid", "rows_quarantined"} <= meta[f"erp/{model.name}"].keys()
    standard = {"records_total", "records_sent", "records_unchanged", "records_rejected", "records_held",
                "records_submitted"}
    for spec in IMPORT_TYPES:
        values = meta[f"squizz/{spec.name}"]
        assert standard <= values.keys() and all(isinstance(values[k], int) for k in standard), spec.name
    # Every SQUIZZ type landed, and the sandbox holds exactly what the ledger says was confirmed.
    for spec in IMPORT_TYPES:
        active = [r for r in sandboxes.squizz.records(spec.type_id) if r.get("active", True)]
        assert len(active) == store.ledger.counts("squizz", spec.name).get("sent", 0), spec.name
        assert meta[f"squizz/{spec.name}"]["records_sent"] > 0, spec.name
    # Every valid organization is a JOOR connection, confirmed by a finished job.
    assert meta["joor/connections"]["records_sent"] == EXPECTED["organizations"]["hub_rows"]
    assert len(sandboxes.joor.connections()) == store.ledger.counts("joor", "connections")["sent"]
    # One Customer Sync file on the FTP server; JOOR's intake holds exactly the customers the ledger calls sent.
    assert len(sandboxes.joor_ftp.files()) == 1
    assert set(sandboxes.joor_ftp.connections()) == set(
        store.ledger.keys_in_state("joor_file", "customer_sync_file", "sent"))
    # Norce: every valid organization and user landed, with one token for the run.
    assert (meta["norce/companies"]["records_sent"], meta["norce/customers"]["records_sent"]) == (25, 49)
    assert len(sandboxes.norce.customers()) == 49 and sandboxes.norce.stats()["tokens_issued"] == 1


def test_second_sync_writes_nothing_to_the_hub_and_sends_nothing(workspace, sandboxes, tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance).success
        tokens_after_first = sandboxes.squizz.stats()["tokens_spent"]
        second = run_sync(url, sandboxes, instance)
    assert second.success
    meta = metadata_by_asset(second)
    for model in ENTITIES:
        hub = meta[f"hub/{model.name}"]
        assert hub["rows_inserted"] == 0 and hub["rows_updated"] == 0, model.name
    for spec in IMPORT_TYPES:
        assert meta[f"squizz/{spec.name}"]["records_sent"] == 0, spec.name
    assert sandboxes.squizz.stats()["tokens_spent"] == tokens_after_first
    assert meta["joor/customer_sync_file"]["records_sent"] == 0 and len(sandboxes.joor_ftp.files()) == 1
    assert meta["norce/companies"]["records_sent"] == 0 and meta["norce/customers"]["records_sent"] == 0


def test_location_held_for_a_missing_organization_lands_when_the_organization_arrives(workspace, sandboxes, tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    inbound = [*erp_assets, *hub_assets]
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance, inbound).success
        store = Store(url)
        held = store.held.load("locations")
        assert set(held["organization_number"]) == {"C-2099"}
        assert held["_held_reason"].str.contains("organizations").all()
        customers = workspace / "inbox" / "customers.txt"
        header = customers.read_text(encoding="utf-8").splitlines()[0].split("|")
        row = {name: "" for name in header}
        row.update({header[0]: "C-2099", header[1]: "Late Arrival Traders"})
        with customers.open("a", encoding="utf-8") as fh:
            fh.write("|".join(row[name] for name in header) + "\n")
        second = run_sync(url, sandboxes, instance, inbound)
    assert second.success
    assert metadata_by_asset(second)["hub/locations"]["rows_released"] == 2
    assert store.held.count("locations") == 0
    locations = store.hub.read_all("locations")
    assert (locations["organization_number"] == "C-2099").sum() == 2


def test_full_inbound_sync_on_postgresql(workspace, sandboxes, postgres_url):
    """Dagster's own storage and the hub both in a real PostgreSQL server."""
    dagster_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    overrides = {"storage": {"postgres": {"postgres_url": dagster_url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        result = run_sync(postgres_url, sandboxes, instance, [*erp_assets, *hub_assets])
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None  # the run was recorded in PostgreSQL
        again = run_sync(postgres_url, sandboxes, instance, [*erp_assets, *hub_assets])
    store = Store(postgres_url)
    for name, expected in EXPECTED.items():
        assert store.hub.count(name) == expected["hub_rows"], name
    assert all(m["rows_inserted"] == 0 and m["rows_updated"] == 0
               for k, m in metadata_by_asset(again).items() if k.startswith("hub/"))


def test_definitions_validate(tmp_path):
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path)}  # a fresh clone has no .dagster_home yet
    completed = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m",
                                "b2b_assets.definitions"], capture_output=True, text=True, cwd=REPO, timeout=300,
                               env=environment)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_wrong_squizz_credentials_fail_at_session_creation_and_the_secret_stays_out_of_the_event_log(
        workspace, sandboxes, tmp_path):
    secret = "wrong-Pa55word-that-must-not-leak"
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance, [*erp_assets, *hub_assets]).success
        result = dg.materialize(
            squizz_assets, instance=instance, raise_on_error=False,
            resources={"store": StoreResource(url=url),
                       "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                                api_key="sandbox-key", api_password=secret)})
        assert not result.success
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert failures and all("SQUIZZ_API_PASSWORD" in e.event_specific_data.error.to_string() for e in failures)
        logged = "\n".join(str(record.dagster_event or record.user_message)
                           for record in instance.all_logs(result.run_id))
        assert "INCORRECT_API_CREDENTIALS" in logged
        assert secret not in logged
        assert secret not in str(instance.get_run_by_id(result.run_id).run_config)
    assert sandboxes.squizz.stats()["tokens_spent"] == 0
    assert all(not sandboxes.squizz.records(spec.type_id) for spec in IMPORT_TYPES)


def test_the_summary_counts_what_squizz_confirmed_before_an_asset_failed(workspace, sandboxes, tmp_path, capsys):
    """Two documents land, the third is refused for lack of tokens: the summary says 6 sent, not 0."""
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    taxcodes = [a for a in squizz_assets if a.key == dg.AssetKey(["squizz", "taxcodes"])]
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance, [*erp_assets, *hub_assets]).success
        sandboxes.squizz.configure(token_balance=7)
        result = dg.materialize(
            taxcodes, instance=instance, raise_on_error=False,
            run_config={"ops": {"squizz__taxcodes": {"config": {"batch_size": 3}}}},
            resources={"store": StoreResource(url=url),
                       "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                                api_key="sandbox-key", api_password="sandbox-password")})
    assert not result.success
    assert sandboxes.squizz.stats()["tokens_spent"] == 6
    assert Store(url).ledger.counts("squizz", "taxcodes")["sent"] == 6
    print_summary(result)
    out = capsys.readouterr().out
    assert "SQUIZZ: 6 records sent (6 trading tokens)" in out
    assert "squizz/taxcodes" in out and "failed" in out


def test_secrets_a_vendor_echoes_stay_out_of_the_event_log_reports_ledger_and_logs(workspace, sandboxes, tmp_path, caplog):
    """A vendor reply echoing the session id and password (the sandbox's `echo_secrets` fault).

    A `reject` rule makes one taxcode's reply a failure whose message the sync keeps (ledger,
    problems report, asset check, event log): each must show the masked echo, never a secret.
    """
    password, rejected, unmasked_session = "sandbox-password", "GST", re.compile(r"session_id=(?!\*\*\*)")
    caplog.set_level(logging.DEBUG)
    sandboxes.squizz.set_faults({"echo_secrets": True, "reject": [{"import_type_id": import_type("taxcodes").type_id,
                                                                   "key": rejected}]})
    taxcodes = [a for a in [*erp_assets, *hub_assets, *squizz_assets] if a.key.path[-1] == "taxcodes"]
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        result = run_sync(url, sandboxes, instance, taxcodes)
        # As stored: the serialized records, metadata tables and all.
        event_log = "\n".join(serialize_value(record) for record in instance.all_logs(result.run_id))
    assert result.success

    reports = "\n".join(path.read_text(encoding="utf-8") for path in (tmp_path / "reports").rglob("squizz_*.csv"))
    with Store(url).engine.connect() as connection:
        ledger = "\n".join(str(error) for error in connection.execute(sa.select(sync_ledger.c.last_error)).scalars())
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert rejected in reports and "session_id=***, api_org_pw=***" in reports
    assert "session_id=***, api_org_pw=***" in ledger
    assert "session_id=***, api_org_pw=***" in event_log  # the asset check's sample of problems
    for name, text in {"event log": event_log, "reports": reports, "ledger": ledger, "logs": logs}.items():
        assert password not in text, name
        assert not unmasked_session.search(text), name
        assert not re.search(r"/(import_esd|validate_session|destroy_session)/[0-9a-f]{32}", text), name
