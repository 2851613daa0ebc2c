"""SQUIZZ products and locations planned a key range at a time, nested rows with them, send what the whole entity does.

A range of products comes with the sell units whose product_id falls in it (a range of sites with their
stock). Cut into ranges of a few records, on the sample export and on a generated one, the sync must
send the same documents (records and nested rows, field for field), count the same, hold and refuse the
same records and write the same ledger as the object planned whole; and then plan a change the same.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.client import EncodedImport
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender
from bench import generate

from .test_squizz_sync import Env, env, make_client, rewrite_csv_rows, staged_template  # noqa: F401

REFERENCED = ("taxcodes", "sell_units", "price_levels")  # what products reference; locations reference products
NESTED = ("products", "locations")
WHOLE = OutboundOptions(batch_size=50, plan_range_rows=1_000_000)


def in_ranges(rows: int, **more) -> OutboundOptions:
    return OutboundOptions(batch_size=50, plan_range_rows=rows, **more)


class RecordingSender(SquizzSender):
    """The SQUIZZ sender, keeping the dataRecords of every document the sandbox accepted."""

    def __init__(self, client):
        super().__init__(client)
        self.records: list[dict] = []

    def deliver(self, document: EncodedImport) -> None:
        super().deliver(document)
        self.records += json.loads(gzip.decompress(document.body))["dataRecords"]

    def sent(self) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in self.records)


def copy_hub(store: Store, path: Path) -> Store:
    """A second hub with everything `store` holds now, ledger included (SQLite's backup: safe under WAL)."""
    source = sqlite3.connect(store.engine.url.database)
    with sqlite3.connect(path) as copy:
        source.backup(copy)
    source.close()
    return Store(f"sqlite:///{path}")


def ledger(store: Store, name: str) -> pd.DataFrame:
    return store.ledger.load(SQUIZZ.name, name)[["record_key", "payload_hash", "state"]]


def sorted_problems(report) -> pd.DataFrame:
    return report.problems.sort_values(["record_key", "state"]).reset_index(drop=True)


def assert_same_sync(client, ranged_store: Store, whole_store: Store, name: str, rows: int) -> dict[str, int]:
    """Sync `name` in ranges of `rows` into one hub and whole into the other; both must send and record alike."""
    obj = SQUIZZ.object(name)
    assert obj.key_ranges and obj.range_columns
    by_range, whole_sender = RecordingSender(client), RecordingSender(client)
    ranged = sync_object(ranged_store, SQUIZZ, obj, by_range, in_ranges(rows))
    whole = sync_object(whole_store, SQUIZZ, obj, whole_sender, WHOLE)
    assert ranged.counts == whole.counts, name
    assert ranged.counts["sent"] > 0 and by_range.sent() == whole_sender.sent(), name
    assert sorted_problems(ranged).equals(sorted_problems(whole)), name
    assert ledger(ranged_store, name).equals(ledger(whole_store, name)), name
    return ranged.counts


def test_products_and_locations_in_key_ranges_send_what_the_whole_entity_sends(env: Env, tmp_path: Path):
    for name in REFERENCED:
        sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client), WHOLE)
    whole_store = copy_hub(env.store, tmp_path / "whole.sqlite")
    products = assert_same_sync(env.client, env.store, whole_store, "products", rows=7)
    assert products["held"] == 1 and products["sent"] == products["total"] - 1  # KT-1403 lacks its tax code
    locations = assert_same_sync(env.client, env.store, whole_store, "locations", rows=2)
    assert locations["nested_held"] > 0  # the held product's stock is left out of its sites, not the sites

    again = sync_object(env.store, SQUIZZ, SQUIZZ.object("products"), SquizzSender(env.client), in_ranges(7))
    assert again.counts["sent"] == 0 and again.counts["unchanged"] == products["sent"]

    # One product's pack relabelled, another's carton gone: exactly those two products are sent again,
    # each with the sell units it has now, as the whole-entity plan sees it.
    def edit(_header: str, rows: list[str]) -> list[str]:
        out = []
        for row in rows:
            fields = next(csv.reader(io.StringIO(row)))
            if fields[:2] == ["KT-1001", "PK6"]:
                row = row.replace("Pack of 6", "Six pack")
            if fields[:2] != ["KT-1002", "CTN24"]:
                out.append(row)
        return out
    rewrite_csv_rows(env.inbox / "product_sell_units.csv", edit)
    env.restage(("product_sell_units",))
    planned_whole = sync_object(env.store, SQUIZZ, SQUIZZ.object("products"), None,
                                OutboundOptions(plan_range_rows=1_000_000, dry_run=True))
    sender = RecordingSender(env.client)
    changed = sync_object(env.store, SQUIZZ, SQUIZZ.object("products"), sender, in_ranges(7))
    assert changed.counts["changed"] == changed.counts["sent"] == 2
    assert sorted(planned_whole.would_send) == sorted(r["keyProductID"] for r in sender.records) == [
        "KT-1001", "KT-1002"]
    units = {r["keyProductID"]: {u["keySellUnitID"]: u["sellUnitLabel"] for u in r["sellUnits"]}
             for r in sender.records}
    assert units["KT-1001"]["PK6"] == "Six pack" and "CTN24" not in units["KT-1002"]


@pytest.fixture(scope="module")
def generated_hub(tmp_path_factory) -> Path:
    """A generated export (300 products with 3 sell units each, 7 sites with stock) staged into a hub."""
    out = tmp_path_factory.mktemp("generated")
    generate.main(["--products", "300", "--prices", "1500", "--organizations", "10", "--locations", "10",
                   "--users", "10", "--sites", "7", "--out", str(out / "export")])
    store = Store(f"sqlite:///{out / 'hub.sqlite'}")
    store.create_all()
    mapping = load_mapping(out / "export" / "mapping.yaml")
    for name in load_order([*REFERENCED, "products", "product_sell_units", "sites", "stock_levels"]):
        stage_entity(name, mapping, store, out / "staging", out / "reports", "ranged-test")
        load_entity(store, out / "staging", name)
    store.dispose()
    return out / "hub.sqlite"


def test_a_generated_export_in_key_ranges_sends_what_the_whole_entity_sends(generated_hub: Path, tmp_path: Path):
    ranged_store = copy_hub(Store(f"sqlite:///{generated_hub}"), tmp_path / "ranged.sqlite")
    whole_store = copy_hub(ranged_store, tmp_path / "whole.sqlite")
    assert ranged_store.hub.count("product_sell_units") == 3 * ranged_store.hub.count("products")
    with start_sandboxes() as sandboxes:
        client = make_client(sandboxes)
        try:
            for name in REFERENCED:
                for store in (ranged_store, whole_store):
                    sync_object(store, SQUIZZ, SQUIZZ.object(name), SquizzSender(client), WHOLE)
            products = assert_same_sync(client, ranged_store, whole_store, "products", rows=37)
            assert products["sent"] == products["total"] == 300
            assert_same_sync(client, ranged_store, whole_store, "locations", rows=3)
        finally:
            client.close()
