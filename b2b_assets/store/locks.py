"""Sync locks: one writer per (target, entity) at a time, whichever process or run starts it.

    with store.lock("squizz", "products", holder=context.run.run_id):
        ...  # plan against the ledger and send; another run waits here

Two runs that plan against the same ledger at the same moment both send the
same records (and are charged twice), so every write of a target's entity,
a hub entity or a staged export happens inside `store.lock(...)`.

- PostgreSQL: a session-level `pg_try_advisory_lock` on a connection held for
  the length of the `with`. The server drops it when the holder's connection
  dies, so a crashed run never leaves it behind.
- SQLite: a row in `sync_locks`, claimed in a `BEGIN IMMEDIATE` transaction
  (the database write lock makes check-and-claim atomic) and kept fresh by a
  heartbeat thread. A row is stale, and taken over, when its holder's
  process is gone (same host: pid not alive) or, for a holder on another
  host, when its heartbeat is older than `stale_after_seconds`.

On both, the `sync_locks` row names the holder (run id, host, pid, since), so a
run that gives up waiting can say who it waited for.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from b2b_assets.store.engine import is_postgres, write_transaction
from b2b_assets.store.sql import upsert_insert, utcnow
from b2b_assets.store.tables import sync_locks

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 600.0
DEFAULT_STALE_AFTER_SECONDS = 300.0
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    host: str
    pid: int
    acquired_at: datetime | None = None

    def describe(self) -> str:
        since = f", since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC" if self.acquired_at else ""
        return f"run {self.run_id} (pid {self.pid} on {self.host}{since})"


class LockHeld(RuntimeError):
    """Another run holds the lock and did not let go within the wait."""

    def __init__(self, name: str, holder: LockHolder | None, waited: float):
        self.name, self.holder, self.waited = name, holder, waited
        who = holder.describe() if holder else "another run (it did not record its name)"
        super().__init__(f"{name} is being synced by {who}; gave up after waiting {waited:.0f}s. "
                         "Let that run finish (or stop it) and start this one again.")


class SyncLocks:
    def __init__(self, engine: Engine, wait_seconds: float = DEFAULT_WAIT_SECONDS,
                 stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS) -> None:
        self._engine = engine
        self.wait_seconds = wait_seconds
        self.stale_after_seconds = stale_after_seconds

    @contextmanager
    def lock(self, target: str, entity: str, holder: str, wait_seconds: float | None = None) -> Iterator[None]:
        """Hold the (target, entity) lock for the `with` body; wait up to `wait_seconds`, then raise LockHeld."""
        me = LockHolder(holder, socket.gethostname(), os.getpid())
        name = f"{target}/{entity}"
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        acquire = self._advisory if is_postgres(self._engine) else self._row
        with acquire(target, entity, me, name, wait):
            yield

    def holder(self, target: str, entity: str) -> LockHolder | None:
        c = sync_locks.c
        with self._engine.connect() as connection:
            row = connection.execute(select(c.run_id, c.host, c.pid, c.acquired_at)
                                     .where(c.target == target, c.entity == entity)).first()
        return LockHolder(row.run_id, row.host, row.pid, row.acquired_at) if row else None

    # --- PostgreSQL: advisory lock on a held connection ---------------------------------------------------------

    @contextmanager
    def _advisory(self, target: str, entity: str, me: LockHolder, name: str, wait: float) -> Iterator[None]:
        key = _advisory_key(name)
        with self._engine.connect() as session:
            deadline = time.monotonic() + wait
            while not session.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
                session.rollback()  # end the implicit transaction so the poll does not hold a snapshot
                if time.monotonic() >= deadline:
                    raise LockHeld(name, self.holder(target, entity), wait)
                time.sleep(POLL_SECONDS)
            session.commit()
            try:
                self._record(me, target, entity)
                yield
            finally:
                self._forget(me, target, entity)
                try:
                    session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    session.commit()
                except DBAPIError:
                    # The connection is gone (server restart): the server has already dropped the lock.
                    log.warning("%s: the lock's connection was lost; the server released the lock", name)

    # --- SQLite: a claimed row with a heartbeat -----------------------------------------------------------------

    @contextmanager
    def _row(self, target: str, entity: str, me: LockHolder, name: str, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        while (current := self._claim(me, target, entity)) is not None:
            if time.monotonic() >= deadline:
                raise LockHeld(name, current, wait)
            time.sleep(POLL_SECONDS)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(me, target, entity, stop), daemon=True,
                                name=f"lock-heartbeat-{name}")
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            self._forget(me, target, entity)

    def _claim(self, me: LockHolder, target: str, entity: str) -> LockHolder | None:
        """Take the row if it is free or stale; otherwise return its live holder."""
        c = sync_locks.c
        with write_transaction(self._engine) as connection:
            row = connection.execute(select(c.run_id, c.host, c.pid, c.acquired_at, c.heartbeat_at)
                                     .where(c.target == target, c.entity == entity)).first()
            if row is not None:
                current = LockHolder(row.run_id, row.host, row.pid, row.acquired_at)
                if not self._is_stale(current, row.heartbeat_at):
                    return current
                log.warning("%s/%s: breaking the stale lock of %s", target, entity, current.describe())
            self._upsert(connection, me, target, entity)
        return None

    def _is_stale(self, holder: LockHolder, heartbeat_at: datetime) -> bool:
        if holder.host == socket.gethostname():
            # Decisive on this host; the heartbeat could lag behind a long write transaction of a live holder.
            return not _pid_alive(holder.pid)
        if heartbeat_at.tzinfo is None:  # SQLite hands back naive UTC
            heartbeat_at = heartbeat_at.replace(tzinfo=utcnow().tzinfo)
        return utcnow() - heartbeat_at > timedelta(seconds=self.stale_after_seconds)

    def _heartbeat(self, me: LockHolder, target: str, entity: str, stop: threading.Event) -> None:
        c = sync_locks.c
        while not stop.wait(self.stale_after_seconds / 4):
            try:
                with write_transaction(self._engine) as connection:
                    connection.execute(sync_locks.update()
                                       .where(c.target == target, c.entity == entity, c.run_id == me.run_id,
                                              c.pid == me.pid)
                                       .values(heartbeat_at=utcnow()))
            except DBAPIError:
                log.warning("%s/%s: lock heartbeat failed; retrying", target, entity)

    # --- the holder row, on both ----------------------------------------------------------------------------------

    def _record(self, me: LockHolder, target: str, entity: str) -> None:
        with write_transaction(self._engine) as connection:
            self._upsert(connection, me, target, entity)

    @staticmethod
    def _upsert(connection: Connection, me: LockHolder, target: str, entity: str) -> None:
        now = utcnow()
        insert = upsert_insert(connection, sync_locks)
        connection.execute(insert.on_conflict_do_update(
            index_elements=[sync_locks.c.target, sync_locks.c.entity],
            set_={name: insert.excluded[name] for name in ("run_id", "host", "pid", "acquired_at", "heartbeat_at")},
        ), {"target": target, "entity": entity, "run_id": me.run_id, "host": me.host, "pid": me.pid,
            "acquired_at": now, "heartbeat_at": now})

    def _forget(self, me: LockHolder, target: str, entity: str) -> None:
        c = sync_locks.c
        try:
            with write_transaction(self._engine) as connection:
                connection.execute(delete(sync_locks).where(c.target == target, c.entity == entity,
                                                            c.run_id == me.run_id, c.pid == me.pid))
        except DBAPIError:
            log.warning("%s/%s: could not clear the lock row; the next run will find it stale", target, entity)


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key per lock name (PostgreSQL advisory keys are bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
