"""A reload of an export with 1 % of its records changed, as `load_entity` does it on SQLite and
PostgreSQL: exactly the changed records are reported updated and get a new `_loaded_at`; the others
are reported unchanged and keep theirs."""

from __future__ import annotations

import time

import pytest

from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.store import Store
from b2b_assets_tests.pipeline.stores import one_file_store

PRODUCTS = 2_000
CHANGED = {7, 512, 999, 1000, 1999} | set(range(100, 115))  # 20 of 2,000


def products(changed: set[int] = frozenset()) -> str:
    rows = [f"P{i:05d},Product {i}{' (new name)' if i in changed else ''},{i % 7}.25\n" for i in range(PRODUCTS)]
    return "product_id,name,weight\n" + "".join(rows)


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path):
    yield from one_file_store(request, tmp_path, "products", "products.csv")


def load(env, run_id: str, content: str):
    store, mapping, tmp = env
    (tmp / "inbox" / "products.csv").write_text(content)
    stage_entity("products", mapping, store, tmp / "staging", tmp / "reports", run_id)
    return load_entity(store, tmp / "staging", "products")


def loaded_at(store: Store):
    return store.hub.read_all("products", with_meta=True).set_index("product_id")["_loaded_at"]


def test_a_one_percent_changed_reload_updates_exactly_the_changed_records(env):
    store = env[0]
    first = load(env, "run-1", products())
    assert (first.inserted, first.updated, first.unchanged) == (PRODUCTS, 0, 0)
    before = loaded_at(store)
    time.sleep(0.01)

    again = load(env, "run-2", products(CHANGED))

    assert (again.inserted, again.updated, again.unchanged) == (0, len(CHANGED), PRODUCTS - len(CHANGED))
    after = loaded_at(store)
    moved = sorted(after.index[after > before])
    assert moved == sorted(f"P{i:05d}" for i in CHANGED)
    assert (after.drop(index=moved) == before.drop(index=moved)).all()
    names = store.hub.read_all("products").set_index("product_id")["name"]
    assert names["P00512"] == "Product 512 (new name)" and names["P00513"] == "Product 513"
