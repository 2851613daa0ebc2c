"""`make bench` end to end at a tiny scale: every run, every stage, every target, the floor and the naive script print.

No timing is asserted (the figures are the benchmark's business); what is
checked is that each row a reader looks for is there, with the records it
must have handled, and that the comparison and the sandbox's absorbed rate
follow.
"""

from __future__ import annotations

import re

from b2b_assets.targets.registry import TARGETS
from bench import run as bench
from bench.floor import OBJECTS as FLOOR_OBJECTS
from bench.floor import STAGES as FLOOR_STAGES

SMALL = {"products": 200, "prices": 600, "organizations": 100, "locations": 200, "users": 100}


def rows(output: str) -> dict[tuple[str, str, str, str], list[str]]:
    """(run, who, stage, what) -> the row's remaining columns."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(full|no change|1% changed)\s+(project|floor|naive)\s+(read|hub load|sync|\w+)\s+(\S+)"
                         r"\s+(.*)$", line)
        if match:
            found[match.groups()[:4]] = match.group(5).split()
    return found


def test_bench_prints_every_row_for_every_run_target_and_script(tmp_path, capsys) -> None:
    arguments = [f"--{name}={value}" for name, value in SMALL.items()]
    assert bench.main(["--scale", "S", *arguments, "--out", str(tmp_path / "export")]) == 0
    output = capsys.readouterr().out
    found = rows(output)
    objects = [f"{t.name}/{o.name}" for t in TARGETS for o in t.objects]
    for run in bench.RUNS:
        for entity in ("products", "unit_prices", "organizations", "locations", "users"):
            assert (run, "project", "read", entity) in found and (run, "project", "hub load", entity) in found
        synced = {name for (r, who, stage, name) in found if (r, who, stage) == (run, "project", "sync")}
        # Every registered target is driven; only SQUIZZ types whose entities the export lacks are left out.
        assert {name.split("/")[0] for name in synced} == {t.name for t in TARGETS}
        assert {"joor/connections", "joor_file/customer_sync_file", "norce/companies", "norce/customers",
                "squizz/products", "squizz/price_level_unit_prices", "squizz/customer_accounts"} <= synced
        assert synced <= set(objects)
        assert (run, "floor", "read", "export") in found and (run, "floor", "ingest", "hub") in found
        for obj in FLOOR_OBJECTS:
            for stage in FLOOR_STAGES[2:]:  # plan, serialize, send, ledger: per object
                assert (run, "floor", stage, obj.name) in found
            for stage in ("read", "build", "send"):
                assert (run, "naive", stage, obj.name) in found

    def sent(run: str, who: str, stage: str, name: str) -> int:
        columns = found[(run, who, stage, name)]
        return int(columns[-2])  # ... peak MB, sent, sandbox CPU s

    def records(run: str, stage: str, name: str) -> int:
        return int(found[(run, "project", stage, name)][2])  # wall s, CPU s, records, ...

    # An export file the hub has loaded is not read or loaded again until it changes.
    for entity in ("products", "unit_prices", "organizations", "locations", "users"):
        assert records("full", "read", entity) > 0 and records("full", "hub load", entity) > 0, entity
        assert records("no change", "read", entity) == 0 and records("no change", "hub load", entity) == 0, entity
    assert records("1% changed", "read", "products") == 200 and records("1% changed", "read", "unit_prices") == 600
    assert records("1% changed", "read", "users") == 0  # the change run leaves users.csv as it was
    assert sent("full", "project", "sync", "squizz/price_level_unit_prices") == 600
    assert sent("full", "project", "sync", "norce/customers") == 100
    assert sent("no change", "project", "sync", "squizz/price_level_unit_prices") == 0
    assert sent("no change", "project", "sync", "joor/connections") == 0
    assert sent("1% changed", "project", "sync", "squizz/price_level_unit_prices") == 6
    assert sent("1% changed", "project", "sync", "joor/connections") == 1  # 1 % of the organizations
    assert sent("1% changed", "floor", "send", "price_level_unit_prices") == 6
    assert sent("no change", "naive", "send", "price_level_unit_prices") == 600  # the naive script resends all
    for run in bench.RUNS:
        assert re.search(rf"^{run}\s+overall, same scope vs floor\s+\d", output, re.M)
        assert re.search(rf"^{run}\s+overall, same scope vs naive\s+\d", output, re.M)
    assert re.search(r"SQUIZZ sandbox, fed pre-encoded 5000-record price documents: [\d,]+ records/s", output)
