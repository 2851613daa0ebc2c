"""A key-ranged object planned from only the rows changed since its last sync reports and sends what a full plan does.

Two hubs hold the same synced sample export; the same changes are loaded into both (a sell unit relabelled
and nothing else of its product, one price raised, a new product with a price, a product and a price
gone from the export). One hub plans prices and products from the rows changed since its mark, the
other, its marks forgotten, plans every row: counts, the documents the sandbox accepted, the held and
refused records and the ledgers must be the same.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from b2b_assets.pipeline import outbound_marks
from b2b_assets.pipeline.outbound import sync_object
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender

from .test_ranged_nested_plan import REFERENCED, WHOLE, RecordingSender, copy_hub, in_ranges, ledger, sorted_problems
from .test_squizz_sync import Env, _stage_and_load, env, rewrite_csv_rows, staged_template  # noqa: F401

PRICES = "price_level_unit_prices"
ROWS = {"products": 7, PRICES: 37}  # ranges of a few rows: the changed rows fall in different ranges
PLANNED = re.compile(r"planned the (\d+) rows changed since its last sync")
READ_EVERY_KEY = "reading every key"


def change_the_export(inbox: Path) -> None:
    def sell_units(_header: str, rows: list[str]) -> list[str]:
        return [r.replace("Pack of 6", "Six pack") if r.startswith("KT-1001,PK6,") else r for r in rows]

    def prices(_header: str, rows: list[str]) -> list[str]:
        out = []
        for row in rows:
            fields = next(csv.reader(io.StringIO(row)))
            if fields[:3] == ["KT-1002", "RETAIL", "EA"]:
                fields[3] = f"{float(fields[3]) + 1.25:.2f}"
                row = ",".join(fields)
            if fields[0] != "KT-1005":  # its product leaves the export, and its prices with it
                out.append(row)
        return [*out, "KT-9001,RETAIL,EA,12.50,,,10"]

    lines = (inbox / "products.jsonl").read_text(encoding="utf-8").splitlines()
    new = json.loads(lines[0]) | {"product_id": "KT-9001", "sku": "KT9001", "name": "Paring knife 9 cm"}
    kept = [line for line in lines if '"product_id": "KT-1005"' not in line]
    assert len(kept) == len(lines) - 1
    (inbox / "products.jsonl").write_text("\n".join([*kept, json.dumps(new)]) + "\n", encoding="utf-8")
    rewrite_csv_rows(inbox / "product_sell_units.csv", sell_units)
    rewrite_csv_rows(inbox / "unit_prices.csv", prices)


def change_again(inbox: Path) -> None:
    """A price of KT-1002 moves again and KT-1001 is renamed."""
    def prices(_header: str, rows: list[str]) -> list[str]:
        return [r.replace("KT-1002,RETAIL,EA,", "KT-1002,RETAIL,EA,1") if r.startswith("KT-1002,RETAIL,EA,") else r
                for r in rows]

    lines = (inbox / "products.jsonl").read_text(encoding="utf-8").splitlines()
    renamed = [json.dumps(json.loads(line) | {"name": "Chef's knife, renamed"}) if '"KT-1001"' in line else line
               for line in lines]
    (inbox / "products.jsonl").write_text("\n".join(renamed) + "\n", encoding="utf-8")
    rewrite_csv_rows(inbox / "unit_prices.csv", prices)


def plan_both(env: Env, full_store, caplog: pytest.LogCaptureFixture, names: tuple[str, ...]) -> dict:
    """Sync each object in `env.store` from its changed rows and in `full_store` from every row; assert both
    report, send, refuse and record the same. Returns each object's log of the changed-rows plan."""
    logs = {}
    for name in names:
        full_store.marks.forget(SQUIZZ.name, name)  # nothing vouches: every row is planned
        caplog.clear()
        changed_sender, full_sender = RecordingSender(env.client), RecordingSender(env.client)
        changed = sync_object(env.store, SQUIZZ, SQUIZZ.object(name), changed_sender, in_ranges(ROWS[name]))
        logs[name] = list(caplog.messages)
        planned = [int(m.group(1)) for m in map(PLANNED.search, caplog.messages) if m]
        full = sync_object(full_store, SQUIZZ, SQUIZZ.object(name), full_sender, in_ranges(ROWS[name]))
        assert planned and 0 < planned[0] < changed.counts["total"] / 4, (name, caplog.messages)
        assert changed.counts == full.counts, name
        assert changed_sender.sent() == full_sender.sent(), name
        assert sorted_problems(changed).equals(sorted_problems(full)), name
        assert ledger(env.store, name).equals(ledger(full_store, name)), name
        logs[name + " counts"] = changed.counts
        logs[name + " records"] = changed_sender.records
    return logs


@pytest.mark.parametrize("gone_kept", [10_000, 0], ids=["gone-named", "gone-not-named"])
def test_changed_rows_plan_reports_and_sends_what_a_full_plan_does(env: Env, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture,
                                                                     monkeypatch: pytest.MonkeyPatch, gone_kept: int):
    # A mark names the records gone from the source up to GONE_KEYS_KEPT; beyond, every key is read.
    monkeypatch.setattr(outbound_marks, "GONE_KEYS_KEPT", gone_kept)
    for name in REFERENCED:
        sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client), WHOLE)
    for name in ("products", PRICES):
        first = sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client), in_ranges(ROWS[name]))
        assert first.counts["sent"] > 0
    full_store = copy_hub(env.store, tmp_path / "full.sqlite")

    original = {name: (env.inbox / name).read_text(encoding="utf-8")
                for name in ("products.jsonl", "product_sell_units.csv", "unit_prices.csv")}
    change_the_export(env.inbox)
    for store in (env.store, full_store):
        _stage_and_load(env.root, store, "changed", ("products", "product_sell_units", "unit_prices"))

    # Prices first: what they reference (products) has not moved yet, so their mark still vouches.
    caplog.set_level(logging.INFO, logger="b2b_assets.pipeline.outbound_changed")
    logs = plan_both(env, full_store, caplog, (PRICES, "products"))
    # The ledgers were as their syncs left them, with nothing gone: only what changed was read.
    assert not any(READ_EVERY_KEY in m for name in (PRICES, "products") for m in logs[name]), logs

    prices, products = (ledger(env.store, n).set_index("record_key")["state"] for n in (PRICES, "products"))
    c = logs["products counts"]
    assert c["new"] == 1 and c["changed"] == 1 and c["deletions_pending"] == 1  # KT-9001, KT-1001, KT-1005
    assert products["KT-9001"] == "sent" and prices["KT-9001\x1fRETAIL\x1fEA"] == "held"  # its product came after
    units = {r["keyProductID"]: {u["keySellUnitID"]: u["sellUnitLabel"] for u in r["sellUnits"]}
             for r in logs["products records"]}
    assert units["KT-1001"]["PK6"] == "Six pack"

    # KT-1005 is gone since, and its records with it: where the marks name them, still only what changed is
    # read; where not, the ledgers are read whole to tell the gone ones apart.
    change_again(env.inbox)
    for store in (env.store, full_store):
        _stage_and_load(env.root, store, "again", ("products", "unit_prices"))
    logs = plan_both(env, full_store, caplog, ("products", PRICES))
    read_every_key = [any(READ_EVERY_KEY in m for m in logs[name]) for name in (PRICES, "products")]
    assert read_every_key == [not gone_kept] * 2, logs
    assert logs["products counts"]["changed"] == 1 and logs["products counts"]["deletions_pending"] == 1

    # The first export again: KT-1005 and its prices are back, KT-9001 and its price are gone.
    for name, text in original.items():
        (env.inbox / name).write_text(text, encoding="utf-8")
    for store in (env.store, full_store):
        _stage_and_load(env.root, store, "original", ("products", "product_sell_units", "unit_prices"))
    logs = plan_both(env, full_store, caplog, ("products", PRICES))
    read_every_key = [any(READ_EVERY_KEY in m for m in logs[name]) for name in (PRICES, "products")]
    assert read_every_key == [not gone_kept] * 2, logs
    assert logs["products counts"]["deletions_pending"] == 1  # KT-9001


def test_an_upgraded_store_plans_in_full_once_then_only_what_changes(env: Env, caplog: pytest.LogCaptureFixture):
    """A store from before row versions (the column and its index dropped, then added back by create_all as an
    upgrade does)."""
    for name in (*REFERENCED, "products"):
        sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client), WHOLE)
    sync_object(env.store, SQUIZZ, SQUIZZ.object(PRICES), SquizzSender(env.client), in_ranges(37))
    with env.store.engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_hub_unit_prices_version"))
        connection.execute(sa.text("ALTER TABLE hub_unit_prices DROP COLUMN _version"))
    env.store.create_all()
    caplog.set_level(logging.INFO, logger="b2b_assets.pipeline.outbound_changed")
    first = sync_object(env.store, SQUIZZ, SQUIZZ.object(PRICES), SquizzSender(env.client), in_ranges(37))
    total = first.counts["total"]
    assert any(f"planning every row: {total} of its {total} rows changed" in m for m in caplog.messages)
    assert first.counts["sent"] == 0 and first.counts["unchanged"] == total - first.counts["held"] - first.counts[
        "invalid"]

    caplog.clear()
    change_the_export(env.inbox)
    env.restage(("unit_prices",))
    again = sync_object(env.store, SQUIZZ, SQUIZZ.object(PRICES), SquizzSender(env.client), in_ranges(37))
    planned = [int(m.group(1)) for m in map(PLANNED.search, caplog.messages) if m]
    assert planned and planned[0] < total / 4 and again.counts["changed"] == again.counts["sent"] == 1
