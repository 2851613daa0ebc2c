"""Issue 7.4: prices and quantities are exact decimals from the export file to the SQUIZZ sandbox.

The real path: the sample export with some prices rewritten -> erp staging (validate,
quarantine) -> hub (SQLite) -> squizz mapping, limits and send over HTTP -> the sandbox's
admin read-back, parsed with Decimal so the test sees the digits the sandbox holds.
Floats used to turn 0.00001 into 0, 12.3456789 into 12.3457 and 99999999999999.99 into
...98; each is now held exactly in the hub and refused, with its reason, for SQUIZZ only.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import KEY_SEPARATOR, Store
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES

from .squizz_steps import sync_import_type

DATA = Path(__file__).resolve().parents[2] / "data"

# (product, price level, sell unit) of rows in data/inbox/unit_prices.csv, and the price each gets.
PRICES = {
    ("KT-1001", "RETAIL", "EA"): "0.00001",  # was stored as 0.0
    ("KT-1001", "RETAIL", "PK6"): "12.3456789",  # was rounded to 12.3457 and sent
    ("KT-1001", "RETAIL", "CTN24"): "99999999999999.99",  # was ...98 in the hub
    ("KT-1001", "TRADE", "EA"): "12.3457",  # fits SQUIZZ: sent digit for digit
    ("KT-1001", "TRADE", "PK6"): "9999999999.9999",  # the largest SQUIZZ 14.4 holds: 14 significant digits
    ("KT-1001", "TRADE", "CTN24"): "0.00000000001",  # below the model's 10 places: would round to zero
    ("KT-1001", "VIP", "EA"): "1.00000000001",  # 11 places: would lose a digit
}


def _rewrite_prices(path: Path) -> dict[tuple[str, str, str], int]:
    """Set PRICES in the export; returns the row number (data rows from 1) of each rewritten key."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    at = {name: i for i, name in enumerate(header)}
    rows = {}
    for number, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        key = (cells[at["product_id"]], cells[at["price_level_id"]], cells[at["sell_unit_id"]])
        if key in PRICES:
            cells[at["price"]] = PRICES[key]
            lines[number] = ",".join(cells)
            rows[key] = number
    assert set(rows) == set(PRICES), "the sample export changed; pick other rows"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    root = tmp_path_factory.mktemp("decimals")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    rows = _rewrite_prices(root / "inbox" / "unit_prices.csv")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    mapping = load_mapping(root / "mapping.yaml")
    staged = {}
    for name in load_order():
        staged[name] = stage_entity(name, mapping, store, root / "staging", root / "reports", "run-1")
        load_entity(store, root / "staging", name)
    with start_sandboxes() as sandboxes:
        client = SquizzClient(f"{sandboxes.base_url}/squizz", "sandbox-org", "sandbox-key", "sandbox-password",
                              timeout=5, retry=squizz_retry(budget_seconds=20, backoff_factor=0.05), busy_backoff=0.05)
        try:
            reports = {spec.name: sync_import_type(store, client, spec) for spec in IMPORT_TYPES}
            spec = next(s for s in IMPORT_TYPES if s.name == "price_level_unit_prices")
            reply = requests.get(f"{sandboxes.base_url}/squizz/_admin/records/{spec.type_id}", timeout=5)
            reply.raise_for_status()
            sandbox = {(r["keyProductID"], r["keyPriceLevelID"], r["keySellUnitID"]): r
                       for r in reply.json(parse_float=Decimal)["records"]}
        finally:
            client.close()
    hub = store.hub.read_all("unit_prices").set_index(["product_id", "price_level_id", "sell_unit_id"])
    store.dispose()
    return {"rows": rows, "staged": staged["unit_prices"], "hub": hub, "sandbox": sandbox,
            "problems": reports["price_level_unit_prices"].problems.set_index("record_key")}


def _squizz_reason(synced, key: tuple[str, str, str]) -> str:
    return str(synced["problems"].loc[KEY_SEPARATOR.join(key), "reason"])


@pytest.mark.parametrize("key", [("KT-1001", "RETAIL", "EA"), ("KT-1001", "RETAIL", "PK6"),
                                 ("KT-1001", "RETAIL", "CTN24")], ids=["0.00001", "12.3456789", "99999999999999.99"])
def test_the_hub_holds_each_price_exactly(synced, key):
    assert synced["hub"].loc[key, "price"] == Decimal(PRICES[key])


def test_a_price_finer_than_squizz_takes_is_refused_for_squizz_with_the_reason(synced):
    for key, places in ((("KT-1001", "RETAIL", "EA"), 5), (("KT-1001", "RETAIL", "PK6"), 7)):
        assert key not in synced["sandbox"], f"{PRICES[key]} reached SQUIZZ (rounded)"
        reason = _squizz_reason(synced, key)
        assert f"price has {places} decimal places" in reason and "DECIMAL 14.4" in reason, reason


def test_a_price_too_large_for_squizz_is_refused_for_squizz_with_the_reason(synced):
    key = ("KT-1001", "RETAIL", "CTN24")
    assert key not in synced["sandbox"]
    assert "does not fit SQUIZZ's DECIMAL 14.4" in _squizz_reason(synced, key)


def test_prices_that_fit_squizz_arrive_digit_for_digit(synced):
    for key in (("KT-1001", "TRADE", "EA"), ("KT-1001", "TRADE", "PK6")):
        assert synced["sandbox"][key]["price"] == Decimal(PRICES[key])
        assert key not in [tuple(k.split(KEY_SEPARATOR)) for k in synced["problems"].index]


def test_a_price_the_model_cannot_hold_is_quarantined_with_file_row_field_and_why(synced):
    issues = synced["staged"].issues
    for key, why in ((("KT-1001", "TRADE", "CTN24"), "would be rounded to zero"),
                     (("KT-1001", "VIP", "EA"), "would lose digits")):
        row = synced["rows"][key]
        found = issues[(issues["row_number"] == row) & (issues["field"] == "price")]
        assert len(found) == 1, issues
        assert found["source"].iloc[0] == "unit_prices.csv"
        assert found["value"].iloc[0] == PRICES[key]
        assert why in found["reason"].iloc[0] and "never rounds" in found["reason"].iloc[0]
        assert key not in synced["hub"].index and key not in synced["sandbox"]
