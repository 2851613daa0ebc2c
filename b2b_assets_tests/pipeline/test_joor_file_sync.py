"""Scenario tests of joor/customer_sync_file through the generic outbound stage, over real FTP to the sandbox.

The sample export is staged into a SQLite hub once per module; each test copies
it, syncs with the real sender (ftplib) against the sandbox's pyftpdlib server,
and reads the outcome back from the sandbox's intake.
"""

from __future__ import annotations

import ftplib
import io
import shutil
from pathlib import Path

import dagster as dg
import pytest

from b2b_assets.defs.joor.ftp_resources import JoorFtpResource
from b2b_assets.defs.joor.schedules import (
    CUSTOMER_SYNC_FILE_KEY, joor_customer_sync_file_hourly, joor_customer_sync_file_job,
)
from b2b_assets.pipeline.outbound import OutboundOptions, hub_frames, sync_object
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import LedgerState
from b2b_assets.targets.joor.customer_file import limits, to_file_payload
from b2b_assets.targets.joor.file_target import CUSTOMER_SYNC_FILE, TARGET
from b2b_assets.targets.joor.ftp import FtpError, FtpLoginRefused
from b2b_assets.targets.joor.mapping import SOURCE_ENTITIES

from .test_joor_sync import staged_template  # noqa: F401  (the module-scoped staged hub)

PASSWORD = "sandbox-ftp-password"


class Env:
    def __init__(self, root: Path, sandboxes):
        self.store = Store(f"sqlite:///{root}/hub.sqlite")
        self.sandboxes = sandboxes
        self.ftp = sandboxes.joor_ftp

    def resource(self, **changes) -> JoorFtpResource:
        settings = {"host": self.ftp.host, "port": self.ftp.port, "username": "sandbox-joor", "password": PASSWORD,
                    "retries": 0, "backoff_seconds": 0.0, **changes}
        return JoorFtpResource(**settings)

    def sync(self, resource: JoorFtpResource | None = None, **options):
        sender = TARGET.sender(resource or self.resource())
        return sync_object(self.store, TARGET, CUSTOMER_SYNC_FILE, sender, OutboundOptions(**options))

    def sent(self) -> set[str]:
        return set(self.store.ledger.keys_in_state(TARGET.name, CUSTOMER_SYNC_FILE.name, LedgerState.SENT.value))

    def final_files(self) -> list[str]:
        return [name for name in self.ftp.listing() if not name.endswith(".part")]


@pytest.fixture
def env(staged_template, tmp_path):  # noqa: F811
    shutil.copy(staged_template / "hub.sqlite", tmp_path / "hub.sqlite")
    with start_sandboxes() as sandboxes:
        e = Env(tmp_path, sandboxes)
        yield e
        e.store.dispose()


def test_first_sync_drops_one_file_whose_connections_equal_the_hub_and_a_second_drops_none(env: Env):
    report = env.sync()
    files = env.ftp.files()
    assert len(files) == 1 and files[0]["name"].startswith("customer_") and files[0]["name"].endswith(".txt")
    assert env.ftp.problems() == []  # the seed's rules were checked before sending: JOOR refuses nothing
    payload = to_file_payload(hub_frames(env.store, SOURCE_ENTITIES))
    refused = limits(payload)
    expected = set(payload.records["customer_code"]) - set(refused.index)
    connections = env.ftp.connections()
    assert set(connections) == expected == env.sent() and report.counts["sent"] == len(expected)
    names = dict(zip(payload.records["customer_code"], payload.records["customer_name"]))
    assert {code: c["profile_name"] for code, c in connections.items()} == {c: names[c] for c in expected}
    assert report.counts["rejected"] == len(refused) > 0  # the sample's fractional discounts stay out

    again = env.sync()
    assert again.counts["sent"] == 0 and again.counts["unchanged"] == len(expected)
    assert len(env.ftp.files()) == 1 and len(env.final_files()) == 1


def test_one_changed_customer_drops_a_file_with_only_that_customers_rows(env: Env):
    env.sync()
    orgs = env.store.hub.read_all("organizations")
    one = orgs[orgs["organization_number"] == "C-1001"]
    env.store.hub.upsert("organizations", one.assign(organization_name="Müller | \"Neu\"\nGmbH"))
    report = env.sync()
    assert report.counts["sent"] == report.counts["changed"] == 1
    latest = env.ftp.files()[-1]
    addresses = env.store.hub.read_all("locations")
    mine = addresses[(addresses["organization_number"] == "C-1001") & (addresses["status"] == "active")]
    assert latest["customers"] == ["C-1001"] and latest["rows"] == len(mine)
    assert env.ftp.connections()["C-1001"]["profile_name"] == "Müller | \"Neu\"\nGmbH"


def test_full_list_by_configuration(env: Env):
    env.sync()
    report = env.sync(full_refresh=True)
    assert report.counts["sent"] == len(env.sent()) and len(env.ftp.files()) == 2
    assert sorted(env.ftp.files()[-1]["customers"]) == sorted(env.sent())


def test_a_connection_dropped_mid_upload_leaves_no_final_file_and_nothing_sent_and_the_next_run_uploads(env: Env):
    env.ftp.set_faults({"drop_uploads": 1})
    with pytest.raises(FtpError, match="nothing is under the final name"):
        env.sync()
    assert env.ftp.stats()["uploads_dropped"] == 1
    assert env.final_files() == [] and env.ftp.files() == [] and env.ftp.connections() == {}
    assert env.sent() == set()  # the ledger is as it was
    report = env.sync()
    assert len(env.final_files()) == 1 and set(env.ftp.connections()) == env.sent()
    assert report.counts["sent"] == len(env.sent()) > 0


def test_retries_ride_out_a_dropped_upload_within_the_run(env: Env):
    env.ftp.set_faults({"drop_uploads": 2})
    report = env.sync(env.resource(retries=2))
    assert env.ftp.stats()["uploads_dropped"] == 2 and len(env.final_files()) == 1
    assert report.counts["sent"] == len(env.ftp.connections())


def test_a_full_disk_fails_the_run_and_leaves_the_ledger_as_it_was(env: Env):
    env.ftp.set_faults({"disk_full": True})
    with pytest.raises(FtpError, match="426"):
        env.sync()
    assert env.final_files() == [] and env.sent() == set()
    env.ftp.set_faults({})
    env.sync()
    assert set(env.ftp.connections()) == env.sent() != set()


def test_a_refused_login_names_the_variables_not_the_password(env: Env):
    env.ftp.set_faults({"refuse_logins": 5})
    with pytest.raises(FtpLoginRefused) as refused:
        env.sync(env.resource(retries=3))
    assert "JOOR_FTP_USER and JOOR_FTP_PASSWORD" in str(refused.value) and PASSWORD not in str(refused.value)
    assert env.ftp.stats()["logins_refused"] == 1  # a refused login is not retried
    assert env.sent() == set() and env.ftp.files() == []


def test_ftps_verifies_the_server_and_lands_the_file_over_tls_only(staged_template, tmp_path):  # noqa: F811
    shutil.copy(staged_template / "hub.sqlite", tmp_path / "hub.sqlite")
    with start_sandboxes(ftp_options={"tls": True}) as sandboxes:
        env = Env(tmp_path, sandboxes)
        certificate = str(env.ftp.certificate)
        with pytest.raises(FtpError, match="did not prove who it is"):  # not trusted: nothing is sent
            env.sync(env.resource(tls=True))
        with pytest.raises(FtpError, match="SSL/TLS required"):  # the server takes no plain FTP
            env.sync(env.resource())
        assert env.ftp.files() == [] and env.sent() == set()
        report = env.sync(env.resource(tls=True, ca_file=certificate))
        assert report.counts["sent"] == len(env.ftp.connections()) > 0 and len(env.ftp.files()) == 1
        env.store.dispose()


def test_the_intake_picks_up_final_names_only(env: Env):
    data = b"profile_name|customer_code\r\n"
    with ftplib.FTP() as ftp:
        ftp.connect(env.ftp.host, env.ftp.port)
        ftp.login("sandbox-joor", PASSWORD)
        ftp.storbinary("STOR customer_1.txt.part", io.BytesIO(data))
        ftp.storbinary("STOR notes.txt", io.BytesIO(data))
        assert env.ftp.files() == []
        ftp.rename("customer_1.txt.part", "customer_1.txt")
    assert [f["name"] for f in env.ftp.files()] == ["customer_1.txt"]


def test_the_hourly_schedule_is_off_by_default_and_runs_the_file_with_what_it_needs():
    assert joor_customer_sync_file_hourly.default_status == dg.DefaultScheduleStatus.STOPPED
    assert joor_customer_sync_file_hourly.cron_schedule == "0 * * * *"
    assert joor_customer_sync_file_hourly.execution_timezone == "UTC"
    from b2b_assets.definitions import defs

    with dg.instance_for_test() as instance:  # the schedule looks up which export files earlier runs took
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=None)
        requests = list(joor_customer_sync_file_hourly.evaluate_tick(context).run_requests or [])
    assert len(requests) == 1
    assert requests[0].job_name is None or requests[0].job_name == joor_customer_sync_file_job.name
    keys = joor_customer_sync_file_job.selection.resolve(defs.resolve_asset_graph())
    assert CUSTOMER_SYNC_FILE_KEY in keys
    assert dg.AssetKey(["hub", "organizations"]) in keys and dg.AssetKey(["hub", "locations"]) in keys
    assert dg.AssetKey(["joor", "connections"]) not in keys and dg.AssetKey(["squizz", "products"]) not in keys
