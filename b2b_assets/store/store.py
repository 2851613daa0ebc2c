"""The `Store` facade: one engine, every part of the store on it."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from b2b_assets.store import versions
from b2b_assets.store.cursors import SourceCursors
from b2b_assets.store.engine import DEFAULT_URL, is_postgres, make_engine, normalise_url, write_transaction
from b2b_assets.store.held import HeldRecords
from b2b_assets.store.hub import HubTables
from b2b_assets.store.ledger import SyncLedger
from b2b_assets.store.locks import DEFAULT_WAIT_SECONDS, SyncLocks
from b2b_assets.store.marks import OutboundMarks
from b2b_assets.store.quarantine import Quarantine
from b2b_assets.store.tables import HUB_TABLES, VERSION, metadata, sync_ledger
from b2b_assets.store.versions import HubVersions

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
        self.versions = HubVersions(self.engine)  # moved by the hub's writes
        self.marks = OutboundMarks(self.engine)  # what each object's last complete sync planned from

    def lock(self, target: str, entity: str, holder: str):  # noqa: ANN201 - a context manager
        """`with store.lock("squizz", "products", holder=run_id):` one writer per target and entity at a time."""
        return self.locks.lock(target, entity, holder)

    def create_all(self) -> None:
        """Create every missing table and index, and add the columns a store from an older version lacks.

        A complete schema is only read. Otherwise the write lock comes first (BEGIN IMMEDIATE on SQLite,
        an advisory lock on PostgreSQL) and the check is repeated under it: two runs starting on a new
        store would each read "missing", and on SQLite the second's read-then-write transaction fails
        with "database is locked" instead of waiting for the first."""
        with self.engine.connect() as connection:
            if _schema_complete(connection):
                return
        with write_transaction(self.engine) as connection:
            if is_postgres(connection):
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK})
            metadata.create_all(connection, checkfirst=True)
            _add_missing_columns(connection)
            for table in metadata.tables.values():  # create_all adds no index to a table that exists already
                for index in table.indexes:
                    index.create(connection, checkfirst=True)

    def dispose(self) -> None:
        """Close pooled connections (e.g. before dropping a test database)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"


# Columns added after a table first shipped. create_all leaves an existing table as it is, so each is added
# here, explicitly, as a nullable column (an ADD COLUMN both databases run without rewriting the table).
ADDED_COLUMNS = {sync_ledger: ("job_id", "first_seen_at")} | {table: (VERSION,) for table in HUB_TABLES.values()}


def _schema_complete(connection: Connection) -> bool:
    inspector = inspect(connection)
    if not set(metadata.tables) <= set(inspector.get_table_names()):
        return False
    return all(set(names) <= {c["name"] for c in inspector.get_columns(table.name)}
               for table, names in ADDED_COLUMNS.items()) and all(
        {index.name for index in table.indexes} <= {found["name"] for found in inspector.get_indexes(table.name)}
        for table in metadata.tables.values())


def _add_missing_columns(connection: Connection) -> None:
    inspector = inspect(connection)
    for table, names in ADDED_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for name in names:
            if name not in present:
                column = table.c[name]
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
                if name == VERSION:
                    _stamp_existing_rows(connection, table)


def _stamp_existing_rows(connection: Connection, table) -> None:  # noqa: ANN001 - a hub Table
    """Rows from before `_version` get the version their entity moves to now: every mark taken before is then
    older than them, so the next sync plans each object that reads the entity in full once, and only what
    changes after that (a NULL version would leave them unknown, planned in full on every run)."""
    entity_name = next(name for name, hub_table in HUB_TABLES.items() if hub_table is table)
    connection.execute(table.update().values({VERSION: versions.current(connection, entity_name) + 1}))
    versions.bump(connection, entity_name)
