"""`kill -9` in the middle of the SQUIZZ product import, then a rerun: the ledger decides what is resent.

Real processes: the sandboxes in their own process (`python -m b2b_assets.sandbox.serve`),
and `b2b-sync sync` as a user runs it, killed with SIGKILL once the sandbox has received
three product batches. SQUIZZ's import replies are made slow (the sandbox stores each
batch, then answers three seconds later), so the kill lands where it hurts most: a batch the
target has stored and the ledger does not know about.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from b2b_assets.store import Store
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES

REPO = Path(__file__).resolve().parent.parent
BATCH = 5  # 40 sample products: 8 product batches
PRODUCTS = next(spec for spec in IMPORT_TYPES if spec.name == "products")
KILL_AFTER_BATCHES = 3
PRODUCT_ENTITIES = ("taxcodes", "sell_units", "products", "product_sell_units")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sandbox_process(tmp_path):
    """The sandboxes served by their own process, which outlives the sync it serves."""
    port, ftp_port = _free_port(), _free_port()
    server = subprocess.Popen([sys.executable, "-m", "b2b_assets.sandbox.serve", "--port", str(port),
                               "--ftp-port", str(ftp_port), "--log-level", "WARNING"],
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _answers(f"{url}/health"):
            assert server.poll() is None and time.monotonic() < deadline, "the sandbox process did not start"
            time.sleep(0.1)
        yield url, port, ftp_port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def _squizz(url: str, path: str, payload: dict | None = None) -> dict:
    reply = requests.post(f"{url}/squizz/_admin/{path}", json=payload, timeout=10) if payload is not None \
        else requests.get(f"{url}/squizz/_admin/{path}", timeout=10)
    reply.raise_for_status()
    return reply.json()


def _product_batches(url: str) -> int:
    imports = _squizz(url, "stats")["imports"]
    return sum(i["import_type_id"] == PRODUCTS.type_id and i["result_code"] == "SERVER_SUCCESS" for i in imports)


def _products_received(url: str) -> int:
    return int(_squizz(url, "stats")["records_by_type"].get(str(PRODUCTS.type_id), 0))


def test_a_sync_killed_mid_batch_resends_only_what_the_ledger_does_not_hold(tmp_path, sandbox_process):
    url, port, ftp_port = sandbox_process
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "data" / "inbox")
    # The sample's products and what they reference, nothing else: the other entities (and targets) add
    # minutes to both runs and nothing to what is tested.
    mapping = yaml.safe_load((REPO / "data" / "mapping.yaml").read_text())
    mapping["sources"] = {name: mapping["sources"][name] for name in PRODUCT_ENTITIES}
    (tmp_path / "data" / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    hub_url = f"sqlite:///{tmp_path}/state/hub.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUIZZ_", "PARTNER_", "JOOR_", "NORCE_", "B2B_"))}
    env.update(PYTHONPATH=str(REPO), DAGSTER_HOME=str(tmp_path / "dagster_home"),
               B2B_MAPPING=str(tmp_path / "data" / "mapping.yaml"), B2B_STATE_DIR=str(tmp_path / "state"),
               B2B_REPORTS_DIR=str(tmp_path / "reports"), B2B_BATCH_SIZE=str(BATCH),
               # The sandbox process's ports are the "bundled sandbox" ports: b2b-sync finds it serving there.
               B2B_SANDBOX_PORT=str(port), B2B_SANDBOX_FTP_PORT=str(ftp_port))
    _squizz(url, "faults", {"slow": 1.0, "slow_seconds": 3.0, "apply_to": ["import_esd"]})

    doomed = subprocess.Popen([sys.executable, "-m", "b2b_assets.cli", "sync"], env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while _product_batches(url) < KILL_AFTER_BATCHES:
        assert doomed.poll() is None, "the sync ended before it could be killed"
        assert time.monotonic() < deadline, "the sandbox never received the product batches"
        time.sleep(0.05)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=60)

    store = Store(hub_url)
    acknowledged = set(store.ledger.keys_in_state("squizz", "products", "sent"))
    received_before = _products_received(url)
    assert 0 < len(acknowledged) < received_before  # killed mid-import, a stored batch unknown to the ledger

    _squizz(url, "faults", {})
    rerun = subprocess.run([sys.executable, "-m", "b2b_assets.cli", "sync"], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]

    sent = set(store.ledger.keys_in_state("squizz", "products", "sent"))
    held = set(store.ledger.keys_in_state("squizz", "products", "held"))
    hub = set(store.hub.read_all("products")["product_id"])
    at_squizz = [r["keyProductID"] for r in _squizz(url, f"records/{PRODUCTS.type_id}")["records"]]
    # SQUIZZ holds exactly the hub's products the ledger calls sent, once each; the rest wait for a reference.
    assert sorted(at_squizz) == sorted(sent) and len(at_squizz) == len(set(at_squizz))
    assert sent | held == hub and not sent & held
    assert store.ledger.counts("squizz", "products")["submitted"] == 0
    # The rerun sent exactly what the ledger did not hold as acknowledged; the target got at most two batches
    # twice (a batch is recorded while the next is in flight: both may have landed unrecorded).
    received_after = _products_received(url)
    assert received_after - received_before == len(sent - acknowledged)
    assert 0 < received_after - len(sent) <= 2 * BATCH
    # The types products reference agree with the ledger too.
    for spec in (spec for spec in IMPORT_TYPES if spec.name in PRODUCT_ENTITIES):
        active = [r for r in _squizz(url, f"records/{spec.type_id}")["records"] if r.get("active", True)]
        assert len(active) == store.ledger.counts("squizz", spec.name)["sent"], spec.name
    store.dispose()
