"""The `Store` facade: one engine, every part of the store on it."""

from __future__ import annotations

from sqlalchemy import Engine, text

from b2b_assets.store.cursors import SourceCursors
from b2b_assets.store.engine import DEFAULT_URL, is_postgres, make_engine, normalise_url
from b2b_assets.store.held import HeldRecords
from b2b_assets.store.hub import HubTables
from b2b_assets.store.ledger import SyncLedger
from b2b_assets.store.locks import DEFAULT_WAIT_SECONDS, SyncLocks
from b2b_assets.store.quarantine import Quarantine
from b2b_assets.store.tables import metadata

_SCHEMA_LOCK = 0x62326261  # pg_advisory_xact_lock id serialising concurrent create_all calls


class Store:
    """SQLite by default (`sqlite:///path`), PostgreSQL with a `postgresql://` URL."""

    def __init__(self, url: str = DEFAULT_URL, lock_wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url)
        self.hub = HubTables(self.engine)
        self.held = HeldRecords(self.engine)
        self.quarantine = Quarantine(self.engine)
        self.ledger = SyncLedger(self.engine)
        self.cursors = SourceCursors(self.engine)
        self.locks = SyncLocks(self.engine, wait_seconds=lock_wait_seconds)

    def lock(self, target: str, entity: str, holder: str):  # noqa: ANN201 - a context manager
        """`with store.lock("squizz", "products", holder=run_id):` one writer per target and entity at a time."""
        return self.locks.lock(target, entity, holder)

    def create_all(self) -> None:
        """Create every missing table and index; existing ones are left as they are."""
        with self.engine.begin() as connection:
            if is_postgres(connection):
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK})
            metadata.create_all(connection, checkfirst=True)

    def dispose(self) -> None:
        """Close pooled connections (e.g. before dropping a test database)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
