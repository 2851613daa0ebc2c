"""The store: hub tables, held records, quarantine, sync ledger, source cursors and sync locks (SQLAlchemy Core).

SQLite is the embedded default; any `postgresql://` URL puts the same tables in PostgreSQL.

    store = Store("sqlite:///data/state/hub.sqlite")
    store.create_all()
    counts = store.hub.upsert("organizations", frame)
"""

from b2b_assets.store.cursors import SourceCursors
from b2b_assets.store.engine import DEFAULT_URL, make_engine, normalise_url
from b2b_assets.store.hashing import hash_series, row_hashes
from b2b_assets.store.held import HeldRecords
from b2b_assets.store.hub import HubTables, UpsertCounts
from b2b_assets.store.keys import KEY_SEPARATOR, record_key
from b2b_assets.store.ledger import SyncLedger
from b2b_assets.store.locks import LockHeld, SyncLocks
from b2b_assets.store.quarantine import Quarantine, write_report
from b2b_assets.store.store import Store
from b2b_assets.targets.core.contract import LEDGER_STATES

__all__ = [
    "DEFAULT_URL", "KEY_SEPARATOR", "LEDGER_STATES", "HeldRecords", "HubTables", "LockHeld", "Quarantine",
    "SourceCursors", "Store", "SyncLedger", "SyncLocks", "UpsertCounts", "hash_series", "make_engine",
    "normalise_url", "record_key", "row_hashes", "write_report",
]
