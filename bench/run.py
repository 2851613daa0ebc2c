"""`make bench`: the real pipeline against the bundled sandboxes, beside the floor and a naive script, on one export.

    python -m bench.run --scale S|M|L        # M by default (make bench SCALE=L)
    python -m bench.run --scale S --products 2000 --prices 6000 --organizations 100 --locations 300 --users 500

Three runs on one generated export (bench/generate.py): a full sync, a second
run with nothing changed, and a run after 1 % of products, prices and
organizations changed. Each run drives the project's own code -
`stage_entity` and `load_entity` for every entity, then `sync_object` with
each registered target's sender for every object whose entities the export
has (SQUIZZ, JOOR connections, the JOOR Customer Sync file over FTP, Norce) -
then the floor (bench/floor.py) and the naive script (bench/naive.py), each in
its own process, on the same files and the same sandboxes. The sandboxes run
in a child process (bench/sandboxes.py), so their CPU is counted apart
("sandbox CPU s").

Printed per row: wall and CPU seconds, records handled and records/s, the
process's peak resident memory so far, records sent, and the sandbox's CPU in
that time; then the project's ratio to the floor per stage, and overall to the
floor and to the naive script; then what the SQUIZZ sandbox absorbs when fed
pre-encoded 5,000-record price documents (the floor's send stage).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from b2b_assets.defs.joor.ftp_resources import JoorFtpResource
from b2b_assets.defs.joor.resources import JoorResource
from b2b_assets.defs.norce.resources import NorceResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.registry import TARGETS
from bench.floor import BATCH, OBJECTS as FLOOR_OBJECTS, ENTITIES as FLOOR_ENTITIES
from bench.sandboxes import JOOR_CREDITS

REPO = Path(__file__).resolve().parent.parent  # the child processes run `python -m bench.*` from here


@dataclass(frozen=True)
class Scale:
    products: int
    prices: int
    organizations: int
    locations: int
    users: int


SCALES = {
    "S": Scale(10_000, 50_000, 1_000, 3_000, 5_000),
    "M": Scale(200_000, 1_000_000, 20_000, 60_000, 100_000),
    "L": Scale(1_000_000, 5_000_000, 100_000, 300_000, 500_000),
}
RUNS = ("full", "no change", "1% changed")
HEADER = (f"{'run':<11} {'who':<8} {'stage':<9} {'what':<34} {'wall s':>8} {'CPU s':>8} {'records':>9} {'rec/s':>9} "
          f"{'peak MB':>8} {'sent':>8} {'sandbox CPU s':>13}")


@dataclass
class Row:
    run: str
    who: str  # project, floor, naive
    stage: str
    name: str
    wall: float
    cpu: float
    records: int
    peak_mb: float
    sent: int | None = None
    sandbox_cpu: float | None = None

    def line(self) -> str:
        rate = f"{self.records / self.wall:9.0f}" if self.wall > 0 and self.records else f"{'':>9}"
        sent = f"{self.sent:8d}" if self.sent is not None else f"{'':>8}"
        box = f"{self.sandbox_cpu:13.2f}" if self.sandbox_cpu is not None else f"{'':>13}"
        return (f"{self.run:<11} {self.who:<8} {self.stage:<9} {self.name:<34} {self.wall:8.2f} {self.cpu:8.2f} "
                f"{self.records:9d} {rate} {self.peak_mb:8.0f} {sent} {box}")


class Sandboxes:
    """bench/sandboxes.py as a child process: its URL, FTP port and CPU seconds so far."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "bench.sandboxes"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=REPO)
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise SystemExit("bench: the sandboxes did not start")
        self.url, self.ftp_port = f"http://127.0.0.1:{ready[1]}", int(ready[2])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        self.process.stdin.close()  # the child stops when its stdin closes
        self.process.wait(timeout=60)


def resources(sandboxes: Sandboxes) -> dict[str, object]:
    """Each registered target's resource pointed at the child's sandboxes, with their sandbox credentials."""
    url = sandboxes.url
    return {
        "squizz": SquizzResource(base_url=f"{url}/squizz", org_id="sandbox-org", api_key="sandbox-key",
                                 api_password="sandbox-password", timeout_seconds=600),
        "joor": JoorResource(base_url=f"{url}/joor", token="sandbox-token", poll_interval_seconds=0.05,
                             credits_per_window=JOOR_CREDITS, timeout_seconds=600),
        "joor_file": JoorFtpResource(host="127.0.0.1", port=sandboxes.ftp_port, username="sandbox-joor",
                                     password="sandbox-ftp-password", timeout_seconds=600),
        "norce": NorceResource(base_url=f"{url}/norce", client_id="sandbox-client", client_secret="sandbox-secret",
                               application_key=DEFAULT_APPLICATION_KEY, poll_interval_seconds=0.05,
                               timeout_seconds=600),
    }


class Bench:
    def __init__(self, out: Path, scale: Scale, work: Path, sandboxes: Sandboxes):
        self.out, self.scale, self.work, self.sandboxes = out, scale, work, sandboxes
        self.rows: list[Row] = []
        self.store = Store(f"sqlite:///{work / 'hub.sqlite'}")
        self.store.create_all()
        self.resources = resources(sandboxes)
        missing = [t.name for t in TARGETS if t.name not in self.resources]
        if missing:
            raise SystemExit(f"bench: no sandbox resource for target(s) {missing}; add one in bench/run.py")

    def measure(self, run: str, stage: str, name: str, action: Callable, records: Callable = lambda r: 0,
                sent: Callable | None = None):
        box, started, cpu = self.sandboxes.cpu_seconds(), time.perf_counter(), time.process_time()
        result = action()
        row = Row(run, "project", stage, name, time.perf_counter() - started, time.process_time() - cpu,
                  records(result), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  sent(result) if sent else None, self.sandboxes.cpu_seconds() - box)
        self.add(row)
        return result

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(row.line(), flush=True)

    def generate(self, change: bool) -> None:
        s = self.scale
        command = [sys.executable, "-m", "bench.generate", "--products", str(s.products), "--prices", str(s.prices),
                   "--organizations", str(s.organizations), "--locations", str(s.locations), "--users", str(s.users),
                   "--out", str(self.out)] + (["--change-percent", "1"] if change else [])
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)

    def project(self, run: str, run_id: str) -> None:
        mapping = load_mapping(self.out / "mapping.yaml")
        staged = load_order(list(mapping.sources))
        for name in staged:
            self.measure(run, "read", name, lambda: stage_entity(name, mapping, self.store, self.work / "staging",
                                                                 self.work / "reports", run_id),
                         lambda r: 0 if r.unchanged else r.rows_valid + r.rows_quarantined)  # unchanged: not read
            self.measure(run, "hub load", name, lambda: load_entity(self.store, self.work / "staging", name),
                         lambda r: 0 if r.not_reloaded else r.inserted + r.updated + r.unchanged)
        options = OutboundOptions(batch_size=BATCH, poll_budget_seconds=600)
        for target in TARGETS:
            sender = target.sender(self.resources[target.name])
            for obj in target.objects:
                if not set(obj.source_entities) <= set(staged):
                    continue  # the export has no such entity (quantity prices, supplier accounts, ...)
                self.measure(run, "sync", f"{target.name}/{obj.name}",
                             lambda: sync_object(self.store, target, obj, sender, options),
                             lambda r: r.counts["total"], lambda r: r.counts["sent"])

    def script(self, run: str, who: str) -> None:
        """bench/floor.py or bench/naive.py in its own process, its JSON rows added with the sandbox's CPU."""
        command = [sys.executable, "-m", f"bench.{who}", "--inbox", str(self.out / "inbox"),
                   "--squizz", f"{self.sandboxes.url}/squizz"] + (
            ["--state", str(self.work / "floor")] if who == "floor" else [])
        box = self.sandboxes.cpu_seconds()
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO) as process:
            for line in process.stdout:
                data = json.loads(line)
                now = self.sandboxes.cpu_seconds()
                self.add(Row(run, who, data["stage"], data["name"], data["wall"], data["cpu"], data["records"],
                             data["peak_mb"], data["records"] if data["stage"] == "send" else None,
                             now - box))
                box = now
        if process.returncode:
            raise SystemExit(f"bench: bench/{who}.py failed ({process.returncode})")

    def run(self, run: str, run_id: str) -> None:
        self.project(run, run_id)
        self.script(run, "floor")
        self.script(run, "naive")


# ---------------------------------------------------------------- the comparison
FLOOR_NAMES = {e.file.removesuffix(".csv") for e in FLOOR_ENTITIES}  # the entities the floor reads
FLOOR_SYNCS = {f"squizz/{o.name}" for o in FLOOR_OBJECTS}


def total(rows: list[Row], **match) -> tuple[float, float]:
    chosen = [r for r in rows if all(getattr(r, k) in (v if isinstance(v, set) else {v}) for k, v in match.items())]
    return sum(r.wall for r in chosen), sum(r.cpu for r in chosen)


def ratio(a: float, b: float) -> str:
    return f"{a / b:6.1f}x" if b > 0 else "     -"


def comparisons(rows: list[Row]) -> list[tuple[str, str, float, float, float, float]]:
    """(run, what, project wall, project CPU, other wall, other CPU): the project's work beside the same work."""
    out = []
    for run in RUNS:
        pick = {"run": run}
        p_read = total(rows, who="project", stage="read", name=FLOOR_NAMES, **pick)
        p_load = total(rows, who="project", stage="hub load", name=FLOOR_NAMES, **pick)
        p_sync = total(rows, who="project", stage="sync", name=FLOOR_SYNCS, **pick)
        out += [(run, "read (products, sell units, prices) vs floor", *p_read, *total(rows, who="floor", stage="read", **pick)),
                (run, "hub load vs floor ADBC ingest + upsert", *p_load, *total(rows, who="floor", stage="ingest", **pick)),
                (run, "sync products + prices vs floor plan..ledger", *p_sync,
                 *total(rows, who="floor", stage={"plan", "serialize", "send", "ledger"}, **pick))]
        if run == "full":
            # sync_object does plan, serialize, send and ledger in one call; the no-change run's sync is its plan,
            # so the difference is what serializing, sending and recording cost.
            unchanged = total(rows, who="project", stage="sync", name=FLOOR_SYNCS, run=RUNS[1])
            out.append((run, "sync minus no-change sync vs floor serialize..ledger",
                        *(a - b for a, b in zip(p_sync, unchanged)),
                        *total(rows, who="floor", stage={"serialize", "send", "ledger"}, **pick)))
        else:
            out.append((run, "sync (mostly plan) vs floor plan", *p_sync, *total(rows, who="floor", stage="plan", **pick)))
        project = tuple(a + b + c for a, b, c in zip(p_read, p_load, p_sync))
        out += [(run, "overall, same scope vs floor", *project, *total(rows, who="floor", **pick)),
                (run, "overall, same scope vs naive", *project, *total(rows, who="naive", **pick))]
    return out


def report(rows: list[Row]) -> None:
    print(f"\n{'run':<11} {'project vs':<52} {'wall':>8} {'CPU':>8}   (project s / other s)")
    for run, what, pw, pc, ow, oc in comparisons(rows):
        print(f"{run:<11} {what:<52} {ratio(pw, ow):>8} {ratio(pc, oc):>8}   ({pw:.1f} / {ow:.1f} wall)")
    full = total(rows, who="project", run="full")[0]
    for run in RUNS[1:]:
        print(f"project, every target: {run} run / full run = {total(rows, who='project', run=run)[0] / full:.1%} "
              "of the wall time")
    absorbed = [r for r in rows if r.who == "floor" and r.stage == "send" and r.name == "price_level_unit_prices"
                and r.records]
    if absorbed:
        records = sum(r.records for r in absorbed)
        per_cpu = records / max(sum(r.sandbox_cpu for r in absorbed), 1e-9)  # what it needs, whatever else runs
        print(f"SQUIZZ sandbox, fed pre-encoded {BATCH}-record price documents: "
              f"{records / sum(r.wall for r in absorbed):,.0f} records/s absorbed ({per_cpu:,.0f} per sandbox CPU s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("SCALE") or "M")
    for field in Scale.__dataclass_fields__:
        parser.add_argument(f"--{field}", type=int, help=f"override the scale's {field}")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="where the export is generated")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    scale = Scale(**{f: getattr(args, f) or getattr(SCALES[args.scale], f) for f in Scale.__dataclass_fields__})

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"Python {platform.python_version()}; scale {args.scale}: {scale}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="b2b-bench-"))
    sandboxes = Sandboxes()
    try:
        bench = Bench(args.out, scale, work, sandboxes)
        bench.generate(change=False)
        print(HEADER, flush=True)
        bench.run(RUNS[0], "bench-1")
        bench.run(RUNS[1], "bench-2")
        bench.generate(change=True)
        bench.run(RUNS[2], "bench-3")
        bench.store.dispose()
        report(bench.rows)
    finally:
        sandboxes.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
