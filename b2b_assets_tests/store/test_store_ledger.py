"""Sync ledger: per target and record, the acknowledged payload hash, state, error and attempts."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from b2b_assets.store import Store, row_hashes
from b2b_assets.store.tables import UNSETTLED, ledger_versions, sync_ledger
from b2b_assets.model import entity


def outcomes(states: list[str], errors: list[str | None] | None = None, hashes: list[int] | None = None) -> pd.DataFrame:
    n = len(states)
    return pd.DataFrame({
        "record_key": [f"CUST-{i}" for i in range(n)],
        "payload_hash": hashes or [1000 + i for i in range(n)],
        "state": states,
        "last_error": errors or [None] * n,
    })


def _row(store: Store, target: str, key: str) -> sa.Row:
    c = sync_ledger.c
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sync_ledger).where(c.target == target, c.record_key == key)).one()


def test_record_load_and_counts(store: Store) -> None:
    assert store.ledger.record("squizz", "organizations", outcomes(["sent", "rejected", "held"],
                                                                   [None, "accountName too long", None])) == 3
    loaded = store.ledger.load("squizz", "organizations")
    assert list(loaded.columns) == ["record_key", "payload_hash", "state", "attempts"]
    assert loaded["state"].tolist() == ["sent", "rejected", "held"]
    assert loaded["payload_hash"].tolist() == [1000, 1001, 1002]
    assert loaded["attempts"].tolist() == [1, 1, 1]
    assert store.ledger.counts("squizz", "organizations") == {"sent": 1, "submitted": 0, "rejected": 1, "held": 1,
                                                                "deleted": 0}
    assert _row(store, "squizz", "CUST-1").last_error == "accountName too long"
    # another target's ledger is separate
    assert store.ledger.load("joor", "organizations").empty
    assert store.ledger.counts("joor", "organizations") == {"sent": 0, "submitted": 0, "rejected": 0, "held": 0,
                                                           "deleted": 0}


def test_retry_increments_attempts_and_confirms_on_sent(store: Store) -> None:
    store.ledger.record("norce", "organizations", outcomes(["rejected", "sent"], ["HTTP 400", None]))
    first = _row(store, "norce", "CUST-0")
    assert first.confirmed_at is None and first.first_sent_at is None

    store.ledger.record("norce", "organizations", outcomes(["sent", "sent"], hashes=[2000, 1001]))
    loaded = store.ledger.load("norce", "organizations").set_index("record_key")
    assert loaded.loc["CUST-0", "attempts"] == 2 and loaded.loc["CUST-0", "state"] == "sent"
    assert loaded.loc["CUST-0", "payload_hash"] == 2000
    retried = _row(store, "norce", "CUST-0")
    assert retried.confirmed_at is not None and retried.last_error is None
    kept = _row(store, "norce", "CUST-1")
    assert kept.attempts == 2 and kept.confirmed_at >= kept.first_sent_at

    # a later rejection keeps when it was first sent and last confirmed
    store.ledger.record("norce", "organizations", outcomes(["sent", "rejected"], [None, "HTTP 409"]))
    rejected = _row(store, "norce", "CUST-1")
    assert rejected.state == "rejected" and rejected.confirmed_at == kept.confirmed_at
    assert rejected.first_sent_at == kept.first_sent_at and rejected.last_error == "HTTP 409"
    assert store.ledger.keys_in_state("norce", "organizations", "rejected").tolist() == ["CUST-1"]
    assert store.ledger.keys_in_state("norce", "organizations", "sent").tolist() == ["CUST-0"]


def test_uint64_hashes_from_pandas_round_trip(store: Store) -> None:
    ent = entity("organizations")
    frame = pd.DataFrame({"organization_number": ["A", "B"], "organization_name": ["Alpha", "Beta"]})
    raw = pd.util.hash_pandas_object(frame, index=False)  # uint64, often above 2**63
    store.ledger.record("squizz", "organizations",
                        pd.DataFrame({"record_key": ["A", "B"], "payload_hash": raw, "state": ["sent", "sent"]}))
    loaded = store.ledger.load("squizz", "organizations")
    assert loaded["payload_hash"].to_numpy(dtype="int64").view("uint64").tolist() == raw.tolist()
    hashes = row_hashes(ent, frame)
    assert str(hashes.dtype) == "int64"


def test_unknown_state_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="state"):
        store.ledger.record("squizz", "organizations", outcomes(["maybe"]))
    with pytest.raises(ValueError):
        store.ledger.keys_in_state("squizz", "organizations", "maybe")
    assert store.ledger.load("squizz", "organizations").empty


def test_large_batch(store: Store) -> None:
    n = 25_000
    frame = pd.DataFrame({"record_key": [f"K{i:06d}" for i in range(n)], "payload_hash": range(n),
                          "state": ["sent"] * n, "last_error": [None] * n})
    assert store.ledger.record("squizz", "products", frame) == n
    assert store.ledger.counts("squizz", "products")["sent"] == n


def test_submitted_records_carry_their_job_until_settled(store: Store) -> None:
    submitted = outcomes(["submitted", "submitted", "sent"]).assign(job_id=["job-7", "job-7", None])
    store.ledger.record("joor", "products", submitted)
    jobs = store.ledger.open_jobs("joor", "products")
    assert jobs["record_key"].tolist() == ["CUST-0", "CUST-1"] and set(jobs["job_id"]) == {"job-7"}
    assert _row(store, "joor", "CUST-0").confirmed_at is None  # submitted is not confirmed
    store.ledger.record("joor", "products", outcomes(["sent", "rejected"], [None, "E42: bad size"]))
    assert store.ledger.open_jobs("joor", "products").empty
    assert _row(store, "joor", "CUST-0").job_id is None and _row(store, "joor", "CUST-0").confirmed_at is not None


def test_create_all_adds_the_job_column_to_a_ledger_from_an_older_version(store: Store) -> None:
    """A store created before jobs existed keeps its ledger rows and gains job_id."""
    store.ledger.record("squizz", "taxcodes", outcomes(["sent"]))
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE sync_ledger DROP COLUMN job_id"))
    assert "job_id" not in {c["name"] for c in sa.inspect(store.engine).get_columns("sync_ledger")}
    store.create_all()
    assert "job_id" in {c["name"] for c in sa.inspect(store.engine).get_columns("sync_ledger")}
    assert store.ledger.counts("squizz", "taxcodes")["sent"] == 1
    store.ledger.record("squizz", "taxcodes", outcomes(["submitted"]).assign(job_id=["j1"]))
    assert store.ledger.open_jobs("squizz", "taxcodes")["job_id"].tolist() == ["j1"]


def test_every_write_moves_the_version_and_one_taking_a_record_out_of_sent_moves_left_sent(store: Store) -> None:
    versions = store.ledger.versions
    assert versions.of("squizz", ["organizations"]) == {"organizations": None}  # no writer yet: unknown
    store.ledger.record("squizz", "organizations", outcomes(["sent", "sent"]))
    first = versions.of("squizz", ["organizations"])["organizations"]
    assert versions.of("squizz", ["organizations"])["organizations"] == first  # reading moves nothing

    # A resend with new hashes that the target confirms: a new version, nothing left `sent`.
    store.ledger.record("squizz", "organizations", outcomes(["sent", "sent"], hashes=[7, 8]))
    resent = versions.of("squizz", ["organizations"])["organizations"]
    assert resent["version"] > first["version"] and resent["left_sent"] == first["left_sent"]

    # A confirmed record written in any other state leaves `sent`; written so again, it does not.
    for state in ("rejected", "held", "submitted", "deleted"):
        before = versions.of("squizz", ["organizations"])["organizations"]
        store.ledger.record("squizz", "organizations", outcomes(["sent", state]))
        after = versions.of("squizz", ["organizations"])["organizations"]
        assert after["version"] > before["version"] and after["left_sent"] > before["left_sent"], state
        store.ledger.record("squizz", "organizations", outcomes(["sent", state]))
        again = versions.of("squizz", ["organizations"])["organizations"]
        assert again["version"] > after["version"] and again["left_sent"] == after["left_sent"], state
        store.ledger.record("squizz", "organizations", outcomes(["sent", "sent"]))
    before = versions.of("squizz", ["organizations"])["organizations"]
    assert store.ledger.purge("squizz", "organizations") == 2
    assert store.ledger.load("squizz", "organizations").empty
    after = versions.of("squizz", ["organizations"])["organizations"]
    assert after["version"] > before["version"] and after["left_sent"] > before["left_sent"]
    # Another object's counters are its own.
    assert versions.of("squizz", ["products"]) == {"products": None}


def test_counters_start_at_zero_for_a_ledger_written_before_them(store: Store) -> None:
    store.ledger.record("squizz", "organizations", outcomes(["sent"]))
    with store.engine.begin() as connection:  # a store from before the counters has ledger rows and none
        connection.execute(sa.delete(ledger_versions))
    assert store.ledger.versions.of("squizz", ["organizations"]) == {"organizations": None}
    assert store.ledger.versions.started("squizz", "organizations") == {"version": 0, "left_sent": 0}
    assert store.ledger.versions.started("squizz", "organizations") == {"version": 0, "left_sent": 0}
    store.ledger.record("squizz", "organizations", outcomes(["rejected"]))
    assert store.ledger.versions.of("squizz", ["organizations"]) == {"organizations": {"version": 1, "left_sent": 1}}


def test_the_records_not_held_as_sent_and_records_by_key_are_read_without_the_rest(store: Store) -> None:
    """What a plan of only the changed rows reads of a ledger: its unsettled records, some keys, and its size."""
    store.ledger.record("squizz", "prices", outcomes(["sent", "rejected", "held", "sent", "deleted"],
                                                     ["", "price below zero", None, None, None]))
    store.ledger.record("squizz", "products", outcomes(["held"]))  # another object's ledger is apart
    with store.engine.begin() as connection:  # a record confirmed before hashes were kept
        connection.execute(sync_ledger.update().where(sync_ledger.c.record_key == "CUST-3").values(payload_hash=None))
    unsettled = store.ledger.unsettled("squizz", "prices")
    assert list(unsettled.columns) == ["record_key", "payload_hash", "state", "attempts"]
    assert unsettled[["record_key", "state"]].values.tolist() == [
        ["CUST-1", "rejected"], ["CUST-2", "held"], ["CUST-3", "sent"], ["CUST-4", "deleted"]]
    found = store.ledger.matching("squizz", "prices", pd.Series(["CUST-4", "CUST-0", "NOPE", "CUST-0"]), chunk=2)
    assert sorted(found["record_key"]) == ["CUST-0", "CUST-4"]
    assert found.set_index("record_key").loc["CUST-0", "payload_hash"] == 1000
    assert store.ledger.matching("squizz", "prices", pd.Series([], dtype="string")).empty
    assert store.ledger.size("squizz", "prices") == 5 and store.ledger.size("squizz", "nothing") == 0
    if store.engine.dialect.name == "sqlite":  # the unsettled records come from their partial index
        c = sync_ledger.c
        statement = sa.select(c.record_key, c.state).where(c.target == "squizz", c.entity == "prices", UNSETTLED)
        sql = statement.compile(store.engine, compile_kwargs={"literal_binds": True})
        with store.engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "ix_sync_ledger_unsettled" in plan, plan


def test_create_all_adds_the_indexes_a_store_from_an_older_version_lacks(store: Store) -> None:
    store.ledger.record("squizz", "prices", outcomes(["held"]))
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_sync_ledger_unsettled"))
        connection.execute(sa.text("DROP INDEX ix_hub_unit_prices_version"))
    store.create_all()
    assert "ix_sync_ledger_unsettled" in {i["name"] for i in sa.inspect(store.engine).get_indexes("sync_ledger")}
    assert "ix_hub_unit_prices_version" in {i["name"] for i in sa.inspect(store.engine).get_indexes("hub_unit_prices")}
    assert store.ledger.unsettled("squizz", "prices")["record_key"].tolist() == ["CUST-0"]
