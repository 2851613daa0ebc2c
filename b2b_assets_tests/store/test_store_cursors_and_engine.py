"""Source cursors, engine configuration and schema creation."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from b2b_assets.model import ENTITIES
from b2b_assets.store import Store, normalise_url


def test_cursors_get_and_set(store: Store) -> None:
    assert store.cursors.get("vendor_api", "organizations") is None
    store.cursors.set("vendor_api", "organizations", "2026-03-16T12:15:00Z")
    store.cursors.set("vendor_api", "users", "2026-03-01T00:00:00Z")
    assert store.cursors.get("vendor_api", "organizations") == "2026-03-16T12:15:00Z"
    store.cursors.set("vendor_api", "organizations", "2026-03-17T08:00:00Z")
    assert store.cursors.get("vendor_api", "organizations") == "2026-03-17T08:00:00Z"
    assert store.cursors.get("vendor_api", "users") == "2026-03-01T00:00:00Z"
    assert store.cursors.get("other_api", "organizations") is None


def test_create_all_is_idempotent_and_keeps_data(store: Store) -> None:
    store.hub.upsert("organizations", pd.DataFrame({"organization_number": ["A"], "organization_name": ["Alpha"]}))
    store.create_all()
    assert store.hub.count("organizations") == 1


def test_runs_starting_together_on_a_new_sqlite_store_all_get_its_schema(tmp_path) -> None:  # noqa: ANN001
    """Two syncs started at once on a fresh state each create the schema; neither may fail "database is locked"."""
    for attempt in range(5):
        stores = [Store(f"sqlite:///{tmp_path}/{attempt}/hub.sqlite") for _ in range(6)]
        start, errors = threading.Barrier(len(stores)), []

        def create(store: Store) -> None:
            start.wait()
            try:
                store.create_all()
            except Exception as error:  # noqa: BLE001 - the test reports every thread's failure
                errors.append(error)

        threads = [threading.Thread(target=create, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert stores[0].hub.count("organizations") == 0
        for store in stores:
            store.dispose()


def test_hub_tables_follow_the_model(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    tables = set(inspector.get_table_names())
    assert {"held_records", "quarantine", "sync_ledger", "source_cursors"} <= tables
    for ent in ENTITIES:
        assert f"hub_{ent.name}" in tables
        pk = inspector.get_pk_constraint(f"hub_{ent.name}")["constrained_columns"]
        assert pk == list(ent.key)
        columns = [c["name"] for c in inspector.get_columns(f"hub_{ent.name}")]
        assert columns == [*ent.columns, "_row_hash", "_in_source", "_loaded_at", "_version"]


def test_sqlite_uses_wal_and_creates_the_directory(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "deep" / "state" / "hub.sqlite"
    store = Store(f"sqlite:///{path}")
    store.create_all()
    assert path.exists()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.dispose()


def test_bare_postgresql_url_gets_the_psycopg2_driver(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://")
    store = Store(postgres_url)
    assert store.engine.url.drivername == "postgresql+psycopg2"
    store.create_all()
    store.create_all()
    assert store.hub.count("organizations") == 0
    store.dispose()


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u@h:5432/db", "postgresql+psycopg2://u@h:5432/db"),
    ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("sqlite:///data/state/hub.sqlite", "sqlite:///data/state/hub.sqlite"),
])
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected
