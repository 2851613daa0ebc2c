"""`b2b-sync` as a user runs it: overlapping runs, real URLs without credentials, a taken sandbox port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import dagster as dg
import pytest

from b2b_assets import cli
from b2b_assets.defs.health.run_report import FAILED_CHECKS
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.targets.registry import TARGETS
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES

REPO = Path(__file__).resolve().parent.parent
SANDBOX_CREDENTIALS = {"SQUIZZ_ORG_ID": "sandbox-org", "SQUIZZ_API_KEY": "sandbox-key",
                       "SQUIZZ_API_PASSWORD": "sandbox-password"}


@pytest.fixture
def workspace(tmp_path):
    """A private copy of the sample export, and the environment that points `b2b-sync` at it."""
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "data" / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "data" / "mapping.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUIZZ_", "PARTNER_", "B2B_"))}
    env.update(PYTHONPATH=str(REPO), DAGSTER_HOME=str(tmp_path / "dagster_home"),
               B2B_MAPPING=str(tmp_path / "data" / "mapping.yaml"), B2B_STATE_DIR=str(tmp_path / "state"),
               B2B_REPORTS_DIR=str(tmp_path / "reports"),
               # Ports of its own: a parallel test's runs must not find (and lose) this test's sandboxes.
               B2B_SANDBOX_PORT=str(_free_port()), B2B_SANDBOX_FTP_PORT=str(_free_port()))
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pointed_at(sandboxes) -> dict[str, str]:
    """The environment that points every registered target (and the partner API) at `sandboxes`."""
    env = {"PARTNER_API_URL": f"{sandboxes.base_url}/partner"}
    for target in TARGETS:
        env.update(target.sandbox_environment)
        env[target.url_environment] = f"{sandboxes.base_url}/{target.name}"
    # The Customer Sync file goes over FTP: its endpoint is a host and port, not a URL under the HTTP sandbox.
    env.update(JOOR_FTP_HOST=sandboxes.joor_ftp.host, JOOR_FTP_PORT=str(sandboxes.joor_ftp.port))
    return env


def b2b_sync(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "b2b_assets.cli", "sync", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_overlapping_syncs_send_each_record_once(database, workspace, tmp_path, request):
    """`b2b-sync sync & b2b-sync sync &`: the second run waits at each entity, then finds nothing left to send."""
    hub_url = request.getfixturevalue("postgres_url") if database == "postgres" else \
        f"sqlite:///{tmp_path}/state/hub.sqlite"
    # An existing Dagster home, as a user has after the first run: two processes creating a fresh one
    # at the same moment race in Dagster's own storage migrations, which is not what this test is about.
    home = Path(workspace["DAGSTER_HOME"])
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:  # touch each storage, so each is created
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.fetch_materializations(dg.AssetKey("none"), limit=1)
    with start_sandboxes() as sandboxes:
        # Every endpoint at this test's sandboxes: a run that found one unset would start its own sandbox.
        env = {**workspace, **_pointed_at(sandboxes), "B2B_HUB_URL": hub_url}
        runs = [b2b_sync(env), b2b_sync(env)]
        outputs = [run.communicate(timeout=600) for run in runs]
        stats = sandboxes.squizz.stats()
    for run, (out, err) in zip(runs, outputs):
        # Both succeed; the sample's deliberate rejections (a zero price, two fractional discounts) fail checks.
        assert run.returncode == FAILED_CHECKS, out[-3000:] + err[-3000:]
    store = Store(hub_url)
    received = Counter({int(k): v for k, v in stats["records_by_type"].items()})
    sent = {spec.type_id: store.ledger.counts("squizz", spec.name).get("sent", 0) for spec in IMPORT_TYPES}
    assert sum(sent.values()) > 0
    assert {t: received[t] for t in sent} == sent  # every record reached SQUIZZ exactly once
    assert stats["tokens_spent"] == sum(sent.values())
    assert not list((tmp_path / "state" / "staging").glob("*.partial"))
    store.dispose()


def test_a_real_squizz_url_without_credentials_stops_before_sending_anything(workspace, monkeypatch, capsys):
    """Only SQUIZZ_API_URL is set: the partner API stays the sandbox, but SQUIZZ must not get sandbox credentials."""
    with start_sandboxes() as elsewhere:  # stands in for the real platform: any URL but the bundled sandbox's
        for name, value in workspace.items():
            monkeypatch.setenv(name, value)
        for name in SANDBOX_CREDENTIALS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("PARTNER_API_URL", raising=False)
        monkeypatch.setenv("SQUIZZ_API_URL", f"{elsewhere.base_url}/squizz")
        with pytest.raises(SystemExit) as stopped:
            cli.main(["sync"])
        assert elsewhere.squizz.stats()["imports"] == []
        sessions = elsewhere.squizz.stats()
    message = str(stopped.value.code)
    assert "SQUIZZ_API_URL" in message and "SQUIZZ_ORG_ID, SQUIZZ_API_KEY, SQUIZZ_API_PASSWORD" in message
    assert "sandbox-password" not in message
    assert sessions["tokens_spent"] == 0
    assert all(not os.environ.get(name) for name in SANDBOX_CREDENTIALS)  # nothing was filled in for it


def test_a_sandbox_url_needs_no_credentials_and_only_real_urls_are_checked(monkeypatch):
    monkeypatch.delenv("SQUIZZ_API_URL", raising=False)
    monkeypatch.setenv("PARTNER_API_URL", "https://partner.example.com/api")
    for name in SANDBOX_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", str(REPO / ".dagster_home")))
    with patch.dict(os.environ):  # what it fills in must not reach the tests after this one
        cli._prepare_environment()
        assert os.environ["SQUIZZ_ORG_ID"] == "sandbox-org"  # SQUIZZ is the sandbox: its own credentials apply
        assert cli._uses_sandboxes()


def test_a_taken_sandbox_port_gives_a_clear_message_not_a_traceback(workspace):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()  # never accepts: /health cannot answer
        port = squatter.getsockname()[1]
        env = {**workspace, "B2B_SANDBOX_PORT": str(port), "B2B_SANDBOX_WAIT_SECONDS": "1"}
        run = b2b_sync(env)
        out, err = run.communicate(timeout=300)
    assert run.returncode != 0
    assert f"port {port} is in use" in err and "B2B_SANDBOX_PORT" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("config", ["dagster.yaml", "dagster.production.yaml"])
def test_the_run_queue_admits_one_sync_at_a_time(config, tmp_path, monkeypatch, request):
    """Runs launched from the UI, a schedule or the sensor queue behind a sync already in progress."""
    from b2b_assets.definitions import defs

    if "production" in config:
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("DAGSTER_PG_URL", url.replace("postgresql://", "postgresql+psycopg2://", 1))
    shutil.copy(REPO / config, tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    tags = defs.resolve_job_def("full_sync").tags
    assert [limit for limit in limits if tags.get(limit["key"]) is not None] == [
        {"key": "b2b_assets/sync", "limit": 1}]
