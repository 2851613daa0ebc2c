"""A PostgreSQL crash mid-sync, on a durable cluster: at most two batches are sent twice, nothing is lost.

Two, because a batch is recorded while the next one is in flight: the write the crash broke and the
request that went out before it may both have landed unrecorded.

The cluster is the script's local production mode (`scripts/postgres.sh start --durable`), in a
directory and on a port of its own, so crashing it leaves the shared test cluster alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES

from .squizz_steps import sync_import_type

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "postgres.sh"
BATCH = 10
CRASH_AFTER_IMPORTS = 25  # mid-way through the 46 batches of unit prices
# The types up to unit prices, and the hub entities they read: enough batches, little else.
TYPES = [spec for spec in IMPORT_TYPES
         if spec.name in ("taxcodes", "sell_units", "price_levels", "products", "price_level_unit_prices")]
ENTITIES = [name for name in load_order() if any(name in spec.source_entities for spec in TYPES)]


class DurableCluster:
    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "B2B_PG_DIR": str(root), "B2B_PG_PORT": "25432"}

    def run(self, *args: str) -> str:
        done = subprocess.run(["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600, check=False)
        if done.returncode != 0:
            pytest.fail(f"postgres.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self) -> str:
        return self.run("start", "--durable")


@pytest.fixture
def durable_cluster(tmp_path):
    cluster = DurableCluster(tmp_path / "pg")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.run("stop")
        data_dir = cluster.root / "data_dir"  # as root the data may live in a private directory under /tmp
        if data_dir.exists():
            shutil.rmtree(Path(data_dir.read_text().strip()).parent, ignore_errors=True)


def sync_all(store: Store, client: SquizzClient) -> None:
    for spec in TYPES:
        sync_import_type(store, client, spec, OutboundOptions(batch_size=BATCH))


def test_a_crash_mid_sync_resends_at_most_two_batches_and_loses_nothing(durable_cluster, tmp_path):
    store = Store(durable_cluster.start())
    store.create_all()
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "mapping.yaml")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    for name in ENTITIES:
        stage_entity(name, mapping, store, tmp_path / "staging", tmp_path / "reports", "load", partner_api=None)
        load_entity(store, tmp_path / "staging", name)

    with start_sandboxes() as sandboxes:
        client = SquizzClient(f"{sandboxes.base_url}/squizz", "sandbox-org", "sandbox-key", "sandbox-password",
                              timeout=5, retry=squizz_retry(budget_seconds=5, backoff_factor=0.01))
        crashed = threading.Event()

        def crash_once_enough_batches_landed() -> None:
            while not crashed.is_set():
                if len(sandboxes.squizz.stats()["imports"]) >= CRASH_AFTER_IMPORTS:
                    durable_cluster.run("crash")
                    crashed.set()
                threading.Event().wait(0.002)

        watcher = threading.Thread(target=crash_once_enough_batches_landed, daemon=True)
        watcher.start()
        with pytest.raises(DBAPIError):
            sync_all(store, client)
        watcher.join(60)
        assert crashed.is_set()
        store.dispose()

        store = Store(durable_cluster.start())
        sync_all(store, client)  # the next run picks up where the ledger says the first one stopped
        client.close()
        stats = sandboxes.squizz.stats()
        active = {spec.name: [r for r in sandboxes.squizz.records(spec.type_id) if r.get("active", True)]
                  for spec in TYPES}

    sent = {spec.name: store.ledger.counts("squizz", spec.name).get("sent", 0) for spec in TYPES}
    assert sent["price_level_unit_prices"] > CRASH_AFTER_IMPORTS * BATCH / 2  # the crash came mid-type
    for spec in TYPES:  # nothing lost: SQUIZZ holds exactly what the ledger says it confirmed
        assert len(active[spec.name]) == sent[spec.name], spec.name
    resent = sum(stats["records_by_type"].values()) - sum(sent.values())
    assert 0 <= resent <= 2 * BATCH, f"{resent} records were sent twice; one batch is {BATCH}"
    store.dispose()
