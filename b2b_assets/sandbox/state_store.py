"""Persistence for sandbox state: one SQLite file per sandbox.

The sandboxes keep their state in memory and write through to this store after each
change, so a second process started on the same directory sees what the first one left.
SQLite gives an atomic write of many rows in one transaction, and lets an import that
touched 10k records rewrite just those rows instead of the whole state.

Records live in named collections (a JSON body under a text key); small global values
(counters, price groups) live as named JSON values.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, key)
);
CREATE TABLE IF NOT EXISTS named_values (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"""


class StateStore:
    """Write-through store; with `path=None` it keeps nothing (memory-only sandboxes)."""

    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are opened explicitly in `write`.
            self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(_SCHEMA)

    def load_collections(self) -> dict[str, list[tuple[str, Any]]]:
        """Every collection's (key, body) pairs, in the order the keys were first written."""
        collections: dict[str, list[tuple[str, Any]]] = {}
        if self._connection is None:
            return collections
        with self._lock:
            rows = self._connection.execute("SELECT collection, key, body FROM records ORDER BY rowid").fetchall()
        for collection, key, body in rows:
            collections.setdefault(collection, []).append((key, json.loads(body)))
        return collections

    def load_value(self, name: str, default: Any = None) -> Any:
        if self._connection is None:
            return default
        with self._lock:
            row = self._connection.execute("SELECT body FROM named_values WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    def write(self, records: Iterable[tuple[str, str, Any]] = (), values: Mapping[str, Any] | None = None) -> None:
        """Upsert (collection, key, body) rows and named values in one transaction."""
        if self._connection is None:
            return
        record_rows = [(collection, key, json.dumps(body)) for collection, key, body in records]
        value_rows = [(name, json.dumps(body)) for name, body in (values or {}).items()]
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN")
            try:
                # An upsert (not INSERT OR REPLACE) keeps the rowid, hence the load order.
                connection.executemany(
                    "INSERT INTO records (collection, key, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (collection, key) DO UPDATE SET body = excluded.body",
                    record_rows,
                )
                connection.executemany(
                    "INSERT INTO named_values (name, body) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                    value_rows,
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def clear(self) -> None:
        if self._connection is None:
            return
        with self._lock:
            self._connection.executescript("BEGIN; DELETE FROM records; DELETE FROM named_values; COMMIT;")

    def close(self) -> None:
        if self._connection is not None:
            with self._lock:
                self._connection.close()
                self._connection = None
