"""Sync locks on SQLite and PostgreSQL: one holder at a time, a named holder, stale locks broken."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from b2b_assets.store import LockHeld, Store

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
