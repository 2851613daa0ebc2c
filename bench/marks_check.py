"""CPU and wall seconds of the no-change marks check at a given ledger size.

`python -m bench.marks_check --rows 1000000` fills a fresh SQLite store's ledger with `rows` confirmed
SQUIZZ price records and `rows / 5` referenced products, leaves a mark as a complete sync would, then
times what a no-change run does before skipping the plan (`current_inputs` and `unchanged_report`), best
of three. Filling the ledger takes most of the run; the check itself reads no ledger row.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from b2b_assets.pipeline.outbound_marks import current_inputs, record_mark, unchanged_report
from b2b_assets.store import Store
from b2b_assets.targets.core.sync import SyncReport
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

OBJECT = SQUIZZ.object("price_level_unit_prices")
BATCH = 500_000


def fill(store: Store, name: str, rows: int) -> None:
    for start in range(0, rows, BATCH):
        keys = np.arange(start, min(rows, start + BATCH))
        store.ledger.record(SQUIZZ.name, name, pd.DataFrame({
            "record_key": pd.Series(keys).map("K{:08d}".format), "payload_hash": keys, "state": "sent"}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.marks_check", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger rows of the checked object")
    rows = parser.parse_args(argv).rows
    with tempfile.TemporaryDirectory() as work:
        store = Store(f"sqlite:///{Path(work) / 'hub.sqlite'}")
        store.create_all()
        for name, n in (("products", rows // 5), ("price_levels", 5), ("sell_units", 4), (OBJECT.name, rows)):
            fill(store, name, n)
        inputs = current_inputs(store, SQUIZZ, OBJECT)
        counts = dict.fromkeys(("nested_held", "deletions_pending", "deleted", "held", "rejected", "submitted"), 0)
        record_mark(store, SQUIZZ, OBJECT, inputs, SyncReport(SQUIZZ.name, OBJECT.name, counts | {"total": rows},
                                                              False), "bench")
        timings = []
        for _ in range(3):
            cpu, wall = time.process_time(), time.perf_counter()
            report = unchanged_report(store, SQUIZZ, OBJECT, current_inputs(store, SQUIZZ, OBJECT),
                                      store.marks.get(SQUIZZ.name, OBJECT.name),
                                      full_refresh=False, deletions_enabled=False)
            timings.append((time.process_time() - cpu, time.perf_counter() - wall))
            if report is None:
                raise SystemExit("the mark did not hold: the check planned")
        store.dispose()
    print(f"{rows:,} ledger rows (+{rows // 5:,} referenced): no-change marks check "
          f"{min(t[0] for t in timings):.4f} CPU s, {min(t[1] for t in timings):.4f} wall s (best of 3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
