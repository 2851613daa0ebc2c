"""Sync locks on SQLite and PostgreSQL: one holder at a time, a named holder, stale locks broken."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from b2b_assets.store import LockHeld, Store
from b2b_assets.store.tables import sync_locks

REPO = Path(__file__).resolve().parents[2]


def test_a_second_run_gives_up_naming_the_run_that_holds_the_lock(store: Store):
    with store.lock("squizz", "products", holder="run-A"):
        with pytest.raises(LockHeld) as caught, store.locks.lock("squizz", "products", "run-B", wait_seconds=0.5):
            pass
    message = str(caught.value)
    assert "squizz/products" in message and "run run-A" in message and f"pid {os.getpid()}" in message
    # Other entities and other targets are not blocked; the lock is free again afterwards.
    with store.lock("squizz", "products", holder="run-A"), store.lock("squizz", "prices", holder="run-B"), \
            store.lock("joor", "products", holder="run-B"):
        pass
    with store.locks.lock("squizz", "products", "run-B", wait_seconds=0):
        assert store.locks.holder("squizz", "products").run_id == "run-B"
    assert store.locks.holder("squizz", "products") is None


def test_a_waiting_run_gets_the_lock_once_the_holder_lets_go(store: Store):
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with store.lock("squizz", "products", holder="run-A"):
            holding.set()
            threading.Event().wait(0.6)
            order.append("A done")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(10)
    with store.locks.lock("squizz", "products", "run-B", wait_seconds=30):
        order.append("B in")
    thread.join()
    assert order == ["A done", "B in"]


def test_a_lock_left_by_a_crashed_run_is_broken(store: Store):
    # A real process takes the lock and dies without releasing it (no `finally`, no clean disconnect).
    crash = textwrap.dedent(f"""
        import os
        from b2b_assets.store import Store
        store = Store({store.url!r})
        held = store.lock("squizz", "products", holder="crashed-run")
        held.__enter__()
        print("locked", flush=True)
        os._exit(9)
    """)
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert "locked" in done.stdout, done.stderr
    assert store.locks.holder("squizz", "products").run_id == "crashed-run"
    with store.locks.lock("squizz", "products", "run-B", wait_seconds=10):
        assert store.locks.holder("squizz", "products").run_id == "run-B"


@pytest.mark.parametrize("minutes_since_heartbeat, broken", [(60, True), (0, False)])
def test_on_sqlite_a_holder_on_another_host_is_stale_only_once_its_heartbeat_stops(
        tmp_path, minutes_since_heartbeat, broken):
    store = Store(f"sqlite:///{tmp_path}/hub.sqlite")
    store.create_all()
    beat = datetime.now(UTC) - timedelta(minutes=minutes_since_heartbeat)
    with store.engine.begin() as connection:  # a run on another machine sharing this database file
        connection.execute(sync_locks.insert().values(target="squizz", entity="products", run_id="run-far",
                                                      host="another-host", pid=1, acquired_at=beat,
                                                      heartbeat_at=beat))
    if broken:
        with store.locks.lock("squizz", "products", "run-B", wait_seconds=0):
            assert store.locks.holder("squizz", "products").run_id == "run-B"
    else:
        with pytest.raises(LockHeld, match="run run-far"), store.locks.lock("squizz", "products", "run-B",
                                                                              wait_seconds=0):
            pass
    store.dispose()
