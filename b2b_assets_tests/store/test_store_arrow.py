"""Arrow reads and staged bulk writes (store/adbc.py) give exactly what SQLAlchemy rows give.

The reference in each test is the row path the store used before: a SQLAlchemy SELECT whose
rows are cast to the canonical frame. Decimals stay exact, NULLs stay NULL, keys with unicode
and the record-key separator survive, empty tables read as typed empty frames, and a read in
many batches is the same as a read in one, on SQLite and PostgreSQL (see conftest).
"""

from __future__ import annotations

import tempfile
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame, empty_frame
from b2b_assets.store import KEY_SEPARATOR, Store
from b2b_assets.store.tables import HUB_TABLES, sync_ledger

SEP = KEY_SEPARATOR
EXACT = ["0.0000000001", "-0.0000001", "12.3456789012", "9999999999999999999999999999.9999999999",
         "-1234567890123456789012345678", "0", "100"]


def unit_prices(n: int) -> pd.DataFrame:
    """Prices with exact decimals, NULL tax rates in the first rows only, unicode keys, and keys that
    sort differently byte-wise ("Z" < "a" < "é") than in a natural-language collation."""
    ids = [["a", "Z", "é", "ß", "日本", "x y"][i % 6] + f"-{i:03}" for i in range(n)]
    return pd.DataFrame({
        "product_id": ids,
        "price_level_id": ["LIST" if i % 2 else "Großhandel" for i in range(n)],
        "sell_unit_id": ["EA" if i % 3 else None for i in range(n)],  # an optional key part, stored as ''
        "price": [EXACT[i % len(EXACT)] for i in range(n)],
        "tax_rate": [None if i < 12 else "0.2500000000" for i in range(n)],
    })


def products(n: int) -> pd.DataFrame:
    """Nullable booleans and decimals that are NULL throughout the first batches and set later."""
    return pd.DataFrame({
        "product_id": [f"P-{i:03}" for i in range(n)],
        "name": [f"Ring {i}" if i % 4 else None for i in range(n)],
        "is_price_tax_inclusive": [None if i < 15 else bool(i % 2) for i in range(n)],
        "weight": [None if i < 15 else f"{i}.125" for i in range(n)],
    })


def rows_as_before(store: Store, name: str, *, in_source: bool | None = None) -> pd.DataFrame:
    """The hub read the row way: SQLAlchemy tuples cast to the canonical frame, in key order."""
    ent = entity(name)
    table = HUB_TABLES[name]
    statement = sa.select(*[table.c[c] for c in ent.columns])
    if in_source is not None:
        statement = statement.where(table.c["_in_source"] == in_source)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = cast_frame(ent, pd.DataFrame([tuple(r) for r in rows], columns=ent.columns, dtype=object))
    text_key = [c for c in ent.key if ent.field(c).kind.name == "TEXT"]
    order = frame[text_key].fillna("").map(lambda v: v.encode()).apply(tuple, axis=1)  # byte order
    return frame.loc[order.sort_values().index].reset_index(drop=True)


@pytest.mark.parametrize("name, frame", [("unit_prices", unit_prices(40)), ("products", products(30))])
def test_hub_reads_equal_the_row_path_exactly(store: Store, name: str, frame: pd.DataFrame) -> None:
    store.hub.upsert(name, frame)
    expected = rows_as_before(store, name)

    whole = store.hub.read_all(name)
    pd.testing.assert_frame_equal(whole, expected)
    assert dict(whole.dtypes) == dict(empty_frame(entity(name)).dtypes)

    batches = list(store.hub.iter_batches(name, batch_rows=7))
    assert [len(b) for b in batches] == [7] * (len(frame) // 7) + ([len(frame) % 7] if len(frame) % 7 else [])
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), expected)
    pd.testing.assert_frame_equal(store.hub.keys(name), expected[list(entity(name).key)])


def test_decimals_nulls_and_optional_key_parts_round_trip_exactly(store: Store) -> None:
    store.hub.upsert("unit_prices", unit_prices(14))
    hub = store.hub.read_all("unit_prices")
    by_key = {(p, l): v for p, l, v in zip(hub["product_id"], hub["price_level_id"], hub["price"].tolist())}
    source = unit_prices(14)
    for p, l, text in zip(source["product_id"], source["price_level_id"], source["price"]):
        assert by_key[(p, l)] == Decimal(text)
    assert hub["sell_unit_id"].isna().sum() == (source["sell_unit_id"].isna()).sum()  # '' back to NA
    assert hub["tax_rate"].isna().sum() == 12
    assert hub["product_id"].iloc[0].startswith("Z")  # byte order: "Z" < "a" < "é" < "日"


def test_meta_columns_and_presence_filter(store: Store) -> None:
    store.hub.upsert("products", products(20))
    store.hub.mark_presence("products", products(20).iloc[5:])
    meta = store.hub.read_all("products", with_meta=True)
    assert str(meta["_row_hash"].dtype) == "int64[pyarrow]"
    assert str(meta["_in_source"].dtype) == "bool[pyarrow]"
    assert str(meta["_loaded_at"].dtype) == "datetime64[us, UTC]"
    assert meta["_loaded_at"].notna().all()
    assert meta["_in_source"].sum() == 15
    absent = store.hub.read_all("products", in_source=False)
    pd.testing.assert_frame_equal(absent, rows_as_before(store, "products", in_source=False))
    assert absent["product_id"].tolist() == [f"P-{i:03}" for i in range(5)]
    meta_batches = pd.concat(store.hub.iter_batches("products", batch_rows=6, with_meta=True), ignore_index=True)
    pd.testing.assert_frame_equal(meta_batches, meta)


def test_empty_tables_read_as_typed_empty_frames(store: Store) -> None:
    assert dict(store.hub.read_all("products").dtypes) == dict(empty_frame(entity("products")).dtypes)
    assert store.hub.read_all("products").empty
    assert list(store.hub.iter_batches("products")) == []
    assert store.hub.keys("unit_prices").columns.tolist() == ["product_id", "price_level_id", "sell_unit_id"]
    loaded = store.ledger.load("squizz", "products")
    assert loaded.empty and list(loaded.columns) == ["record_key", "payload_hash", "state", "attempts"]
    assert [str(t) for t in loaded.dtypes] == ["string", "int64[pyarrow]", "string", "int64[pyarrow]"]
    assert list(store.ledger.iter_batches("squizz", "products")) == []
    assert str(store.ledger.open_jobs("squizz", "products")["payload_hash"].dtype) == "int64"
    assert store.ledger.keys_in_state("squizz", "products", "sent").empty


def ledger_outcomes(n: int) -> pd.DataFrame:
    keys = [f"{['P', 'é', '日本', 'z'][i % 4]}-{i:04}{SEP}LIST{SEP}{'EA' if i % 2 else ''}" for i in range(n)]
    hashes = [[-2**63, 2**63 - 1, None, 0][i % 4] if i < 8 else i * 7919 for i in range(n)]
    states = [["sent", "rejected", "held", "submitted"][i % 4] for i in range(n)]
    return pd.DataFrame({
        "record_key": keys, "payload_hash": pd.array(hashes, dtype="Int64"), "state": states,
        "last_error": [None if s == "sent" else f"why {i}: ünïcode" for i, s in enumerate(states)],
        "job_id": [f"job-{i % 3}" if s == "submitted" else None for i, s in enumerate(states)],
    })


def ledger_rows_as_before(store: Store, target: str, name: str) -> pd.DataFrame:
    c = sync_ledger.c
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(c.record_key, c.payload_hash, c.state, c.attempts)
                                  .where(c.target == target, c.entity == name)).all()
    rows = sorted(rows, key=lambda row: row.record_key.encode())  # byte order
    # Each column from the Python values: pandas' from_records, as the row path had it, turns a column of
    # ints with a NULL into float64, which cannot hold every 64-bit hash.
    return pd.DataFrame({
        "record_key": pd.Series([r.record_key for r in rows], dtype="string[pyarrow]"),
        "payload_hash": pd.Series([r.payload_hash for r in rows], dtype="int64[pyarrow]"),
        "state": pd.Series([r.state for r in rows], dtype="string[pyarrow]"),
        "attempts": pd.Series([r.attempts for r in rows], dtype="int64[pyarrow]"),
    })


def test_ledger_reads_equal_the_row_path_exactly(store: Store) -> None:
    outcomes = ledger_outcomes(203)
    assert store.ledger.record("squizz", "products", outcomes) == 203
    assert store.ledger.record("squizz", "products", outcomes.iloc[:50]) == 50  # attempts 2 for these
    expected = ledger_rows_as_before(store, "squizz", "products")

    loaded = store.ledger.load("squizz", "products")
    pd.testing.assert_frame_equal(loaded, expected)
    assert loaded["payload_hash"].isna().sum() == 2
    assert {-2**63, 2**63 - 1} <= set(loaded["payload_hash"].dropna().tolist())
    assert sorted(loaded["attempts"].value_counts().to_dict().items()) == [(1, 153), (2, 50)]

    batches = list(store.ledger.iter_batches("squizz", "products", batch_rows=50))
    assert [len(b) for b in batches] == [50, 50, 50, 50, 3]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), expected)

    submitted = outcomes[outcomes["state"] == "submitted"]
    jobs = store.ledger.open_jobs("squizz", "products")
    assert sorted(zip(jobs["job_id"], jobs["record_key"])) == list(zip(jobs["job_id"], jobs["record_key"]))
    assert set(jobs["record_key"]) == set(submitted["record_key"])
    sent = store.ledger.keys_in_state("squizz", "products", "sent")
    assert sent.tolist() == sorted(outcomes.loc[outcomes["state"] == "sent", "record_key"], key=str.encode)


def test_a_bulk_write_updates_every_row_once_and_leaves_no_scratch_files(store: Store, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    frame = unit_prices(3000)
    frame["product_id"] = [f"P{i:05}" for i in range(3000)]
    assert store.hub.upsert("unit_prices", frame).inserted == 3000
    frame.loc[frame.index[::100], "price"] = "1.5"
    counts = store.hub.upsert("unit_prices", pd.concat([frame, frame.iloc[:10]]))  # repeated keys: last wins
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 30, 2970)
    pd.testing.assert_frame_equal(store.hub.read_all("unit_prices"), rows_as_before(store, "unit_prices"))
    assert store.hub.mark_presence("unit_prices", frame.iloc[:2500]) == 500
    assert store.ledger.record("t", "unit_prices", ledger_outcomes(3000)) == 3000
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_decimal_key_part_orders_alike_on_both_databases(store: Store) -> None:
    store.hub.upsert("quantity_prices", pd.DataFrame({
        "product_id": "P-1", "price_level_id": "LIST", "sell_unit_id": "EA",
        "quantity": ["10", "2", "1.5", "100"], "price": "1.25"}))
    batches = list(store.hub.iter_batches("quantity_prices", batch_rows=3))
    quantities = [q for b in batches for q in b["quantity"].tolist()]
    assert quantities == [Decimal("1.5"), Decimal("10"), Decimal("100"), Decimal("2")]  # by the stored text
    assert store.hub.read_all("quantity_prices")["quantity"].tolist() == quantities


def test_a_record_without_a_payload_hash_leaves_every_other_hash_exact(store: Store) -> None:
    """The row path read the column through float64 once a NULL was in it: 3932614460934721123 came back
    as ...024, so a record that had not changed looked changed and was sent again on every run."""
    store.ledger.record("squizz", "products", pd.DataFrame({
        "record_key": ["held-one", "sent-one"], "payload_hash": pd.array([None, 3932614460934721123], dtype="Int64"),
        "state": ["held", "sent"]}))
    assert store.ledger.load("squizz", "products")["payload_hash"].tolist() == [pd.NA, 3932614460934721123]


def test_key_ranges_of_a_parent_cut_its_children_between_parents_on_both_databases(store: Store) -> None:
    """A product range's sell units (read_key_range after the last range's key, up to its own last key)
    hold exactly that range's products' units: byte-wise, so "Z" < "a" < "é" on PostgreSQL too."""
    ids = [["a", "Z", "é", "ß", "日本", "x y"][i % 6] + f"-{i:03}" for i in range(23)]
    store.hub.upsert("products", pd.DataFrame({"product_id": ids, "name": "Ring"}))
    store.hub.upsert("product_sell_units", pd.DataFrame({
        "product_id": [p for p in ids for _ in (0, 1)], "sell_unit_id": ["EA", "PK6"] * len(ids),
        "label": "Each", "base_quantity": "1"}))
    ranges, above = [], None
    for batch in store.hub.iter_batches("products", batch_rows=4):
        upto = batch["product_id"].iloc[-1]
        units = store.hub.read_key_range("product_sell_units", "product_id", above=above, upto=upto)
        assert sorted(units["product_id"].unique()) == sorted(batch["product_id"])
        ranges.append(units)
        above = upto
    assert len(ranges) == 6
    pd.testing.assert_frame_equal(pd.concat(ranges, ignore_index=True), store.hub.read_all("product_sell_units"))
    assert dict(store.hub.empty("product_sell_units").dtypes) == dict(
        store.hub.read_all("product_sell_units").dtypes)
