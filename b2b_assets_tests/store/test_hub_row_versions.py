"""Each hub row carries the entity version of the write that last changed it (`_version`): what lets a plan
read only the rows changed since its last sync, by key, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from b2b_assets.store import Store


def prices(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["product_id", "price_level_id", "price"]).assign(sell_unit_id="EA")


def versions(store: Store) -> dict[tuple[str, str], int | None]:
    meta = pd.concat(store.hub.iter_versions("unit_prices"), ignore_index=True)
    return {(p, level): (None if pd.isna(v) else int(v))
            for p, level, v in zip(meta["product_id"], meta["price_level_id"], meta["_version"], strict=True)}


def test_writes_stamp_the_rows_they_change_with_the_version_they_make(store: Store) -> None:
    store.hub.upsert("unit_prices", prices([("P1", "RETAIL", "1.00"), ("P2", "RETAIL", "2.00"),
                                            ("P2", "TRADE", "1.50")]))
    assert set(versions(store).values()) == {1} == {store.versions.of(["unit_prices"])["unit_prices"]}
    store.hub.upsert("unit_prices", prices([("P1", "RETAIL", "1.00"), ("P2", "RETAIL", "2.50")]))  # one changed
    store.hub.upsert("unit_prices", prices([("P1", "RETAIL", "1.00")]))  # nothing changed: no version made
    store.hub.mark_presence("unit_prices", prices([("P1", "RETAIL", ""), ("P2", "RETAIL", "")]))  # P2 TRADE gone
    assert versions(store) == {("P1", "RETAIL"): 1, ("P2", "RETAIL"): 2, ("P2", "TRADE"): 3}
    assert store.versions.of(["unit_prices"])["unit_prices"] == 3

    changed = store.hub.changed_since("unit_prices", 1, ["product_id", "price_level_id"])
    assert sorted(changed["price_level_id"]) == ["RETAIL", "TRADE"]  # present or not
    keyed = pd.concat(store.hub.iter_versions("unit_prices", batch_rows=1, in_source=True), ignore_index=True)
    assert keyed[["product_id", "price_level_id"]].values.tolist() == [["P1", "RETAIL"], ["P2", "RETAIL"]]
    assert keyed["_version"].tolist() == [1, 2]
    read = store.hub.read_matching("unit_prices", "product_id", pd.Series(["P2", "P9", "P2"]), in_source=True,
                                   chunk=1)
    assert read[["product_id", "price_level_id", "price"]].astype(str).values.tolist() == [["P2", "RETAIL", "2.5000000000"]]


def test_a_store_from_before_row_versions_stamps_its_rows_with_a_new_version(store: Store) -> None:
    store.hub.upsert("unit_prices", prices([("P1", "RETAIL", "1.00"), ("P2", "RETAIL", "2.00")]))
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_hub_unit_prices_version"))  # an older store had neither
        connection.execute(sa.text("ALTER TABLE hub_unit_prices DROP COLUMN _version"))
    store.create_all()
    # Newer than any mark taken before the upgrade: each object reading them plans in full once.
    assert set(versions(store).values()) == {2} == {store.versions.of(["unit_prices"])["unit_prices"]}
    store.hub.upsert("unit_prices", prices([("P1", "RETAIL", "1.00"), ("P2", "RETAIL", "2.25")]))
    assert versions(store) == {("P1", "RETAIL"): 2, ("P2", "RETAIL"): 3}
