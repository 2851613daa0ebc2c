"""The benchmark's floor posts the project's payload: the same records land in the SQUIZZ sandbox either way.

A small generated export is staged and synced by the project (stage_entity,
load_entity, sync_object with the SQUIZZ sender) into one sandbox; a second
sandbox gets the same reference types from the project and then products and
unit prices from bench/floor.py alone. What each sandbox holds must be equal,
field for field, nested sell units included; otherwise the floor's figures
would compare the project with a different, cheaper payload.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.import_types import import_type
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from bench import generate
from bench.floor import BATCH, OBJECTS, Floor, run

REFERENCED = ("taxcodes", "price_levels", "sell_units")  # what products and prices reference
FLOOR_OBJECTS = tuple(o.name for o in OBJECTS)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    generate.main(["--products", "300", "--prices", "1500", "--organizations", "10", "--locations", "10",
                   "--users", "10", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def staged_hub(export, tmp_path_factory) -> Path:
    """A hub with the export staged and nothing synced yet (each sandbox gets a copy, with its own ledger)."""
    work = tmp_path_factory.mktemp("hub")
    store = Store(f"sqlite:///{work / 'hub.sqlite'}")
    store.create_all()
    mapping = load_mapping(export / "mapping.yaml")
    for name in load_order(["taxcodes", "price_levels", "sell_units", "products", "product_sell_units",
                            "unit_prices"]):
        stage_entity(name, mapping, store, work / "staging", work / "reports", "floor-test")
        load_entity(store, work / "staging", name)
    store.dispose()
    return work / "hub.sqlite"


def squizz_sync(staged_hub: Path, copy: Path, base_url: str, names: tuple[str, ...]) -> None:
    shutil.copy(staged_hub, copy)
    store = Store(f"sqlite:///{copy}")
    resource = SquizzResource(base_url=f"{base_url}/squizz", org_id="sandbox-org", api_key="sandbox-key",
                              api_password="sandbox-password")
    sender = SQUIZZ.sender(resource)
    for name in names:
        report = sync_object(store, SQUIZZ, SQUIZZ.object(name), sender, OutboundOptions(batch_size=BATCH))
        assert report.counts["sent"] == report.counts["total"] > 0, name
    resource.client().close()
    store.dispose()


def landed(sandboxes, name: str) -> dict[str, dict]:
    spec = import_type(name)
    return {"\x1f".join(str(r[f]) for f in spec.key_fields): r for r in sandboxes.squizz.records(spec.type_id)}


def test_the_floor_lands_exactly_the_records_the_project_lands(export, staged_hub, tmp_path) -> None:
    with start_sandboxes() as by_project, start_sandboxes() as by_floor:
        squizz_sync(staged_hub, tmp_path / "project.sqlite", by_project.base_url, REFERENCED + FLOOR_OBJECTS)
        squizz_sync(staged_hub, tmp_path / "references.sqlite", by_floor.base_url, REFERENCED)
        floor = Floor(export / "inbox", tmp_path / "floor", f"{by_floor.base_url}/squizz")
        rows: list[dict] = []
        try:
            run(floor, rows.append)
        finally:
            floor.close()
        sent = {r["name"]: r["records"] for r in rows if r["stage"] == "send"}
        assert sent == {"products": 300, "price_level_unit_prices": 1500}
        for name in FLOOR_OBJECTS:
            project, floor_records = landed(by_project, name), landed(by_floor, name)
            assert len(project) == len(floor_records) > 0
            assert floor_records == project, name
        product = next(iter(landed(by_floor, "products").values()))
        assert len(product["sellUnits"]) == 3 and product["weight"] > 0  # nested and numeric fields really compared
