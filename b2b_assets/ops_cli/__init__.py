"""What `b2b-sync` shows an operator beyond the sync itself: status, one record's story, retries, failures.

Plain Python over the store and Dagster's run results; `cli.py` only wires the subcommands to these.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

from b2b_assets import settings
from b2b_assets.store import Store

PIPED_WIDTH = 200  # columns when the output is not a terminal (a log, a test): wide tables stay unwrapped


def open_store() -> Store:
    """The store a sync writes: B2B_HUB_URL, else the embedded SQLite under the state directory."""
    store = Store(os.environ.get("B2B_HUB_URL") or settings.default_hub_url())
    store.create_all()  # a fresh clone has no tables yet: it then reports zeros instead of failing
    return store


def terminal() -> Console:
    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
