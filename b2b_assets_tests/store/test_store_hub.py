"""Hub tables: upsert by stable key, hash-based change detection, typed read-back, presence."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import Store, UpsertCounts, row_hashes
from b2b_assets.store.hub import HubTables


@pytest.fixture(params=["staged whole", "with digest"])
def upsert(request: pytest.FixtureRequest, store: Store):  # noqa: ANN201 - HubTables.upsert's signature
    """`HubTables.upsert` as a single call stages it, and as a load calls it: with the entity's digest,
    so that only new and changed rows are staged. Both must count and write the same."""
    if request.param == "staged whole":
        return store.hub.upsert
    return lambda name, frame: store.hub.upsert(name, frame, store.hub.digest(name))


def organizations(n: int = 3, start: int = 1) -> pd.DataFrame:
    numbers = range(start, start + n)
    return pd.DataFrame({
        "organization_number": [f"CUST-{i}" for i in numbers],
        "organization_name": [f"Jewelers {i}" for i in numbers],
        "status": ["active" if i % 2 else "inactive" for i in numbers],
        "sales_incentive": [bool(i % 2) for i in numbers],
        "discount_percent": [i * 1.5 for i in numbers],
    })


def test_a_value_emptied_in_every_row_of_a_batch_is_cleared(store: Store, upsert) -> None:
    upsert("organizations", organizations(3))
    emptied = organizations(3).drop(columns=["discount_percent"]).assign(sales_incentive=pd.NA)
    assert upsert("organizations", emptied) == UpsertCounts(inserted=0, updated=3, unchanged=0)
    hub = store.hub.read_all("organizations")
    assert hub["discount_percent"].isna().all() and hub["sales_incentive"].isna().all()
    assert (hub["organization_name"] == organizations(3)["organization_name"]).all()


def test_upsert_reports_inserted_updated_unchanged(store: Store, upsert) -> None:
    first = upsert("organizations", organizations(3))
    assert first == UpsertCounts(inserted=3, updated=0, unchanged=0)

    changed = organizations(4)  # CUST-4 is new
    changed.loc[changed["organization_number"] == "CUST-2", "organization_name"] = "Renamed Jewelers"
    second = upsert("organizations", changed)
    assert second == UpsertCounts(inserted=1, updated=1, unchanged=2)

    hub = store.hub.read_all("organizations").set_index("organization_number")
    assert hub.loc["CUST-2", "organization_name"] == "Renamed Jewelers"
    assert hub.loc["CUST-1", "organization_name"] == "Jewelers 1"
    assert store.hub.count("organizations") == 4


def test_identical_upsert_writes_nothing(store: Store, upsert) -> None:
    upsert("organizations", organizations(5))
    before = store.hub.read_all("organizations", with_meta=True)
    time.sleep(0.01)

    again = upsert("organizations", organizations(5))

    assert again == UpsertCounts(inserted=0, updated=0, unchanged=5)
    after = store.hub.read_all("organizations", with_meta=True)
    pd.testing.assert_series_equal(after["_loaded_at"], before["_loaded_at"])
    pd.testing.assert_series_equal(after["_row_hash"], before["_row_hash"])


def test_only_changed_rows_get_a_new_loaded_at(store: Store, upsert) -> None:
    upsert("organizations", organizations(3))
    before = store.hub.read_all("organizations", with_meta=True).set_index("organization_number")
    time.sleep(0.01)
    changed = organizations(3)
    changed.loc[0, "discount_percent"] = 99.0
    upsert("organizations", changed)
    after = store.hub.read_all("organizations", with_meta=True).set_index("organization_number")
    assert after.loc["CUST-1", "_loaded_at"] > before.loc["CUST-1", "_loaded_at"]
    assert after.loc["CUST-2", "_loaded_at"] == before.loc["CUST-2", "_loaded_at"]
    assert after.loc["CUST-1", "discount_percent"] == 99.0


def test_hash_ignores_formatting_that_the_canonical_form_removes(store: Store, upsert) -> None:
    upsert("organizations", organizations(2))
    noisy = organizations(2)
    noisy["discount_percent"] = noisy["discount_percent"].map("{:.6f}".format)  # 1.500000 is 1.5
    noisy["website"] = ""  # empty string and missing are one state
    noisy = noisy.iloc[::-1].set_index(pd.Index([10, 20]))  # order and index do not matter
    assert upsert("organizations", noisy) == UpsertCounts(0, 0, 2)


def test_duplicate_keys_in_one_frame_keep_the_last(store: Store, upsert) -> None:
    frame = pd.concat([organizations(2), organizations(1).assign(organization_name="Last wins")], ignore_index=True)
    assert upsert("organizations", frame) == UpsertCounts(inserted=2, updated=0, unchanged=0)
    hub = store.hub.read_all("organizations").set_index("organization_number")
    assert hub.loc["CUST-1", "organization_name"] == "Last wins"


def customer_prices() -> pd.DataFrame:
    return pd.DataFrame({
        "product_id": ["P1", "P1", "P1", "P2"],
        "organization_number": ["CUST-1", None, "", "CUST-1"],
        "price_group_id": [None, "VIP", "TRADE", "VIP"],
        "sell_unit_id": ["EA", "EA", "EA", "BOX"],
        "quantity": [1, 1, 10.5, 1],
        "price": [9.99, 8.5, 7.25, 100.0],
    })


def test_composite_keys_with_missing_optional_parts(store: Store, upsert) -> None:
    assert upsert("customer_prices", customer_prices()) == UpsertCounts(4, 0, 0)

    # the same record for a price group (no organization) is updated, not duplicated
    update = customer_prices().iloc[[1]].assign(price=8.0)
    assert upsert("customer_prices", update) == UpsertCounts(0, 1, 0)
    assert store.hub.count("customer_prices") == 4

    back = store.hub.read_all("customer_prices")
    group_price = back[(back["price_group_id"] == "VIP") & (back["product_id"] == "P1")]
    assert len(group_price) == 1
    assert group_price["organization_number"].isna().all()
    assert group_price["price"].iloc[0] == 8.0

    keys = store.hub.keys("customer_prices")
    assert list(keys.columns) == list(entity("customer_prices").key)
    assert keys["organization_number"].isna().sum() == 2
    assert keys["price_group_id"].isna().sum() == 1
    assert str(keys["quantity"].dtype) == "decimal128(38, 10)[pyarrow]"

    # missing optional key parts are stored as '' so the primary key holds
    table = HubTables.table("customer_prices")
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(table)
                                    .where(table.c.organization_number == "")).scalar_one()
    assert stored == 2


def test_read_back_has_the_canonical_dtypes_and_values(store: Store) -> None:
    ent = entity("organizations")
    frame = pd.DataFrame({
        "organization_number": ["A-1", "B-2", "C-3"],
        "organization_name": ["Ünïcødé & Co", "Plain", "Long data"],
        "status": ["active", None, "inactive"],
        "sales_incentive": [True, None, False],
        "discount_percent": [12.34567, None, 0.0],
        "balance": [-1234567890.1234, 0.5, None],
        "payment_type_ids": ["CC|ACC", None, "ACC"],
        "currency": ["USD", "EUR", None],
        "data": ["x" * 60_000, None, "{\"k\": 1}"],
        "discount_line_item_level": [False, True, None],
    })
    store.hub.upsert("organizations", frame)

    back = store.hub.read_all("organizations")
    expected = cast_frame(ent, frame)
    pd.testing.assert_frame_equal(back, expected)
    assert back["discount_percent"].iloc[0] == Decimal("12.34567")  # exact, not rounded

    # what the hub hashed is what a reader of the hub hashes
    meta = store.hub.read_all("organizations", with_meta=True)
    assert (row_hashes(ent, back).to_numpy() == meta["_row_hash"].to_numpy(dtype="int64")).all()


def test_read_streams_batches_in_key_order(store: Store) -> None:
    frame = organizations(25)
    store.hub.upsert("organizations", frame.sample(frac=1, random_state=1))
    batches = list(store.hub.read("organizations", batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    keys = pd.concat(batches)["organization_number"].tolist()
    assert keys == sorted(frame["organization_number"])


def test_empty_hub_and_empty_upsert(store: Store) -> None:
    ent = entity("locations")
    assert store.hub.upsert("locations", pd.DataFrame()) == UpsertCounts(0, 0, 0)
    empty = store.hub.read_all("locations")
    assert empty.empty and list(empty.columns) == ent.columns
    assert dict(empty.dtypes) == dict(cast_frame(ent, pd.DataFrame()).dtypes)
    assert store.hub.keys("locations").empty
    assert store.hub.count("locations") == 0


def test_mark_presence_flags_records_missing_from_the_full_export(store: Store) -> None:
    store.hub.upsert("organizations", organizations(5))

    absent = store.hub.mark_presence("organizations", organizations(3))

    assert absent == 2
    assert store.hub.absent_keys("organizations")["organization_number"].tolist() == ["CUST-4", "CUST-5"]
    assert store.hub.count("organizations") == 5  # the hub never deletes
    assert store.hub.count("organizations", in_source=True) == 3
    assert len(store.hub.read_all("organizations", in_source=False)) == 2

    # back in the next export: present again
    assert store.hub.mark_presence("organizations", organizations(5)[["organization_number"]]) == 0
    assert store.hub.absent_keys("organizations").empty


def test_mark_presence_with_composite_optional_keys(store: Store) -> None:
    store.hub.upsert("customer_prices", customer_prices())
    present = customer_prices().iloc[[0, 1, 3]]
    assert store.hub.mark_presence("customer_prices", present) == 1
    gone = store.hub.absent_keys("customer_prices")
    assert gone["price_group_id"].tolist() == ["TRADE"]
    assert gone["organization_number"].isna().all()
    assert gone["quantity"].tolist() == [10.5]


def test_an_empty_export_marks_everything_absent_but_deletes_nothing(store: Store) -> None:
    store.hub.upsert("organizations", organizations(3))
    assert store.hub.mark_presence("organizations", organizations(0)) == 3
    assert store.hub.count("organizations") == 3


def test_changed_record_returning_to_the_source_is_present_again(store: Store, upsert) -> None:
    upsert("organizations", organizations(2))
    store.hub.mark_presence("organizations", organizations(1))
    back = organizations(2).assign(organization_name="Changed")
    upsert("organizations", back)
    assert store.hub.absent_keys("organizations").empty


def locations(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    org = pd.Series(ids // 4).map("CUST-{:07d}".format)
    return pd.DataFrame({
        "organization_number": org,
        "location_id": pd.Series(ids).map("LOC-{:08d}".format),
        "location_name": pd.Series(ids).map("Store {}".format),
        "address1": pd.Series(ids).map("{} Main St".format),
        "city": rng.choice(["New York", "Boston", "Chicago", "Austin"], n),
        "postal_code": pd.Series(rng.integers(10000, 99999, n)).astype(str),
        "country": "US",
        "status": rng.choice(["active", "inactive", "hidden"], n),
        "is_primary": ids % 4 == 0,
    })


def test_200k_row_upsert(store: Store, request: pytest.FixtureRequest) -> None:
    n = 200_000
    frame = locations(n)
    backend = store.engine.dialect.name

    started = time.perf_counter()
    first = store.hub.upsert("locations", frame)
    inserted_s = time.perf_counter() - started
    assert first == UpsertCounts(inserted=n, updated=0, unchanged=0)

    changed = frame.copy()
    changed.loc[changed.index[::10], "status"] = "inactive"  # every 10th row (some already were)
    started = time.perf_counter()
    second = store.hub.upsert("locations", changed)
    second_s = time.perf_counter() - started
    assert second.inserted == 0 and second.updated > 0 and second.total == n

    started = time.perf_counter()
    third = store.hub.upsert("locations", changed)
    unchanged_s = time.perf_counter() - started
    assert third == UpsertCounts(0, 0, n)

    started = time.perf_counter()
    rows = sum(len(b) for b in store.hub.read("locations"))
    read_s = time.perf_counter() - started
    assert rows == n

    started = time.perf_counter()
    assert store.hub.mark_presence("locations", frame.iloc[: n - 1000]) == 1000
    presence_s = time.perf_counter() - started

    print(f"\n[{backend}] 200k locations: insert {inserted_s:.1f}s ({n / inserted_s:,.0f} rows/s), "
          f"update {second.updated:,} of {n:,} {second_s:.1f}s, unchanged {unchanged_s:.1f}s "
          f"({n / unchanged_s:,.0f} rows/s), read {read_s:.1f}s ({n / read_s:,.0f} rows/s), "
          f"mark_presence {presence_s:.1f}s")


def test_decimals_are_exact_on_both_databases(store: Store, upsert) -> None:
    """Issue 7.4: NUMERIC on PostgreSQL, fixed-scale text on SQLite; float64 held none of these."""
    prices = ["0.00001", "12.3456789", "99999999999999.99", "1234567890123456789012345678.1234567891", "-0.5"]
    frame = pd.DataFrame({"product_id": [f"P{i}" for i in range(len(prices))], "price_level_id": "L",
                          "sell_unit_id": "EA", "quantity": ["2.5", "2.5", "10", "0.0000001", "1"], "price": prices})
    assert upsert("quantity_prices", frame) == UpsertCounts(5, 0, 0)
    back = store.hub.read_all("quantity_prices").set_index("product_id")
    assert back["price"].tolist() == [Decimal(p) for p in prices]
    assert back.loc["P3", "quantity"] == Decimal("0.0000001")
    # Other spellings of the same values (and of the quantity key) are the same rows, unchanged.
    respelled = frame.assign(price=[p + "000" if "." in p else p + ".0" for p in prices],
                             quantity=["2.50", "2.500", "10.0", ".0000001", "1.0"])
    assert upsert("quantity_prices", respelled) == UpsertCounts(0, 0, 5)
