"""Ledger change counters: per (target, object), two numbers its sync ledger's writers move.

`version` moves with every write and purge of the object's ledger rows; `left_sent` with every one that
takes a record out of `sent` (a write giving a `sent` record another state, a purge). `SyncLedger` moves them in
the same transaction as the change, so reading the same numbers twice means the ledger, or its set of
confirmed records, held still in between: a few rows read instead of an aggregate over millions
(pipeline/outbound_marks.py). An object whose ledger no writer has touched since the counters exist
(a store from an older version, an object never synced) has no row: unknown, not 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select

from b2b_assets.store.engine import write_transaction
from b2b_assets.store.sql import upsert_insert, utcnow
from b2b_assets.store.tables import ledger_versions


def bump(connection: Connection, target: str, entity_name: str, *, may_leave_sent: bool) -> None:
    """Move the object's counters on, inside the caller's write transaction (the ledger change's own)."""
    left = int(may_leave_sent)
    insert = upsert_insert(connection, ledger_versions).values(
        target=target, entity=entity_name, version=1, left_sent=left, changed_at=utcnow())
    c = ledger_versions.c
    connection.execute(insert.on_conflict_do_update(
        index_elements=[c.target, c.entity],
        set_={"version": c.version + 1, "left_sent": c.left_sent + left, "changed_at": insert.excluded.changed_at}))


def start(connection: Connection, target: str, entity_name: str) -> None:
    """Give the object counters at 0 if it has none: sound whenever the caller knows the ledger as it is now
    (a sync ending under the object's lock), since every later write moves them."""
    insert = upsert_insert(connection, ledger_versions).values(
        target=target, entity=entity_name, version=0, left_sent=0, changed_at=utcnow())
    connection.execute(insert.on_conflict_do_nothing(index_elements=[ledger_versions.c.target,
                                                                     ledger_versions.c.entity]))


class LedgerVersions:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of(self, target: str, entity_names: Iterable[str]) -> dict[str, dict[str, int] | None]:
        """Each object's {"version", "left_sent"} now; None for one without counters (unknown)."""
        names = list(entity_names)
        c = ledger_versions.c
        statement = select(c.entity, c.version, c.left_sent).where(c.target == target, c.entity.in_(names))
        with self._engine.connect() as connection:
            found = {entity: {"version": int(version), "left_sent": int(left)}
                     for entity, version, left in connection.execute(statement)}
        return {name: found.get(name) for name in names}

    def started(self, target: str, entity_name: str) -> dict[str, int]:
        """The object's counters now, started at 0 where it has none (see `start`)."""
        c = ledger_versions.c
        with write_transaction(self._engine) as connection:
            start(connection, target, entity_name)
            version, left = connection.execute(select(c.version, c.left_sent).where(
                c.target == target, c.entity == entity_name)).one()
        return {"version": int(version), "left_sent": int(left)}
