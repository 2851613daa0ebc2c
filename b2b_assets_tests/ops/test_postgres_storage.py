"""The full sync on production storage: dagster.production.yaml and the hub and ledger in PostgreSQL.

`b2b-sync sync` as a user runs it, in a subprocess, with nothing but environment variables pointing
it at a real PostgreSQL server (scripts/postgres.sh, as the other PostgreSQL tests) and the
bundled sandboxes; then the run, its event log and the sync state are read back from PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from b2b_assets.definitions import defs
from b2b_assets.store import Store
from bench.ui_launch import fresh_environment

REPO = Path(__file__).resolve().parents[2]
EXPECTED = json.loads((REPO / "data" / "sample_expectations.json").read_text())["entities"]


def test_the_full_sync_runs_on_postgresql_storage(tmp_path, postgres_url):
    psycopg2_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    environment = {**fresh_environment(tmp_path, "dagster.production.yaml"),
                   "DAGSTER_PG_URL": psycopg2_url, "B2B_HUB_URL": psycopg2_url}

    sync = subprocess.run([sys.executable, "-m", "b2b_assets.cli", "sync"], env=environment, cwd=REPO,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)

    assert "Per-asset summary" in sync.stdout, sync.stdout[-3000:] + sync.stderr[-3000:]
    engine = sa.create_engine(psycopg2_url, poolclass=sa.NullPool)
    with engine.connect() as db:
        runs = db.execute(sa.text("SELECT run_id, pipeline_name, status FROM runs")).all()
        assert [(job, status) for _, job, status in runs] == [("full_sync", "SUCCESS")]
        materialized = db.execute(sa.text(
            "SELECT DISTINCT asset_key FROM event_logs WHERE run_id = :run AND dagster_event_type = "
            "'ASSET_MATERIALIZATION'"), {"run": runs[0].run_id}).scalars().all()
    # Every asset of the graph materialized, recorded in PostgreSQL.
    assert {dg.AssetKey.from_db_string(key) for key in materialized} == set(defs.resolve_all_asset_keys())
    store = Store(postgres_url)
    assert store.engine.dialect.name == "postgresql"
    for name, expected in EXPECTED.items():
        assert store.hub.count(name) == expected["hub_rows"], name
    assert store.ledger.counts("squizz", "products")["sent"] > 0
    # Nothing went to SQLite: no hub file in the state directory, no run storage under DAGSTER_HOME.
    assert not (tmp_path / "state" / "hub.sqlite").exists()
    assert not (Path(environment["DAGSTER_HOME"]) / "history").exists()
