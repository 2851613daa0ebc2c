"""Scale benchmark: the real pipeline on a generated distributor-sized export, with time and memory per stage.

    python -m bench.run                                   # 1,000,000 products, 5,000,000 prices
    python -m bench.run --products 100000 --prices 500000 # a quicker look

Stages, each timed and with the process's peak resident memory after it:
stage (read + map + validate to Parquet) and hub load for every generated
entity; then SQUIZZ for taxcodes, price levels, sell units, products and
price-level unit prices against the bundled sandbox over HTTP on 127.0.0.1 --
the first sync (everything new), a second sync (nothing to send), and a delta
sync after 1 % of products and prices changed (exactly those sent). The
sandbox runs in its own process, so the figures are this project's side only
(the sandbox's processing time still adds to the send stages' wall time).
Prints a table; the README quotes it with the machine it came from.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender

SQUIZZ_TYPES = ("taxcodes", "price_levels", "sell_units", "products", "price_level_unit_prices")
ROWS: list[tuple[str, str, float, float, str]] = []


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(stage: str, entity: str, action, detail=lambda result: ""):
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    ROWS.append((stage, entity, elapsed, peak_mb(), detail(result)))
    print(f"{stage:<14} {entity:<26} {elapsed:8.1f} s  peak {peak_mb():7.0f} MB  {detail(result)}", flush=True)
    return result


def generate(out: Path, products: int, prices: int, change: bool) -> None:
    command = [sys.executable, "-m", "bench.generate", "--products", str(products), "--prices", str(prices),
               "--out", str(out)] + (["--change-percent", "1"] if change else [])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def sandbox_process():
    """The sandbox in its own process, so its work and memory are not counted as ours."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "b2b_assets.sandbox.serve", "--port", str(port),
                               "--log-level", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
            break
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait()


def inbound(mapping_path: Path, store: Store, work: Path, run_id: str) -> None:
    mapping = load_mapping(mapping_path)
    for name in load_order([n for n in mapping.sources]):
        measure("stage", name, lambda: stage_entity(name, mapping, store, work / "staging", work / "reports", run_id),
                lambda r: f"{r.rows_valid} valid, {r.rows_quarantined} quarantined")
        measure("hub load", name, lambda: load_entity(store, work / "staging", name),
                lambda r: f"{r.inserted} new, {r.updated} updated, {r.unchanged} unchanged")


def outbound(store: Store, client: SquizzClient, label: str) -> None:
    for name in SQUIZZ_TYPES:
        measure(label, name, lambda: sync_object(store, SQUIZZ, SQUIZZ.object(name), SquizzSender(client),
                                                 OutboundOptions(batch_size=5000)),
                lambda r: f"{r.counts['sent']} sent, {r.counts['unchanged']} unchanged, {r.counts['held']} held")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--prices", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python {platform.python_version()}")
    measure("generate", f"{args.products} products", lambda: generate(args.out, args.products, args.prices, False))
    work = Path(tempfile.mkdtemp(prefix="b2b-bench-"))
    try:
        store = Store(f"sqlite:///{work / 'hub.sqlite'}")
        store.create_all()
        inbound(args.out / "mapping.yaml", store, work, "bench-1")
        with sandbox_process() as sandbox_url, SquizzClient(
                f"{sandbox_url}/squizz", "sandbox-org", "sandbox-key", "sandbox-password",
                timeout=600, retry=squizz_retry(budget_seconds=60, backoff_factor=0.2)) as client:
            outbound(store, client, "squizz first")
            outbound(store, client, "squizz again")
            measure("generate", "1% changed", lambda: generate(args.out, args.products, args.prices, True))
            inbound(args.out / "mapping.yaml", store, work, "bench-2")
            outbound(store, client, "squizz delta")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| stage | entity | seconds | peak RSS MB | result |\n|---|---|---|---|---|")
    for stage, entity, seconds, mb, detail in ROWS:
        print(f"| {stage} | {entity} | {seconds:.1f} | {mb:.0f} | {detail} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
