"""An outbound object whose inputs did not move since its last complete sync is not planned again.

Over real HTTP to the SQUIZZ sandbox, on the sample export in a SQLite hub: the second sync of an unchanged
hub reports the objects it did not re-plan; a change to one hub entity re-plans the objects that read it or
take away what it confirmed, and sends exactly the changed records; a referenced object resent with new
hashes re-plans nothing that references it, one whose record is refused on resend does; records that wait
(held, rejected) keep their object planning every run; a full refresh, a ledger purge or a new store plan
everything again; an unchanged object's check reads no ledger row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import text

from b2b_assets.pipeline.outbound import OutboundOptions
from b2b_assets.pipeline.outbound_marks import PAYLOAD_SETTINGS
from b2b_assets.store import KEY_SEPARATOR, Store
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

from .squizz_steps import sync_import_type
from .test_squizz_sync import SPECS, Env, env, rewrite_csv_rows, staged_template  # noqa: F401

NOT_REPLANNED = re.compile(r"^inputs unchanged since run \S+: not re-planned$")


def waiting(reports: dict) -> set[str]:
    """The objects that ended the sync with records that wait: held, rejected, or nested rows held back."""
    return {name for name, r in reports.items()
            if r.counts["held"] or r.counts["rejected"] or r.counts["invalid"] or r.counts["nested_held"]}


def replanned(reports: dict) -> set[str]:
    return {name for name, r in reports.items() if r.skipped is None}


def rename_product(env: Env, product_id: str) -> None:
    """Give one product a new name in the export and load it: the product's payload hash changes."""
    products = env.inbox / "products.jsonl"
    lines = products.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if f'"product_id": "{product_id}"' in line)
    record = json.loads(lines[index])
    lines[index] = json.dumps(record | {"name": record["name"] + " (new edition)"}, ensure_ascii=False)
    products.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env.restage(("products",))


def of_product(keys: set[str], product_id: str) -> set[str]:
    return {k for k in keys if product_id in k.split(KEY_SEPARATOR)}


# Objects that reference products and, in the sample, wait for nothing (prices and stock wait for KT-1403).
SETTLED_DEPENDENTS = ("customer_account_prices", "alternate_codes")


def test_an_unchanged_hub_is_not_replanned_and_a_change_replans_exactly_its_dependents(env: Env):
    first = env.full_sync()
    assert not any(r.skipped for r in first.values())  # nothing vouches for a first sync
    stats = env.stats()
    waits = waiting(first)
    assert {"products", "price_level_quantity_prices"} <= waits  # the sample's held product and zero price

    again = env.full_sync()
    assert replanned(again) == waits
    for name, report in again.items():
        c = report.counts
        assert c["sent"] == c["new"] == c["changed"] == 0, (name, c)
        if name in waits:
            continue
        assert NOT_REPLANNED.match(report.skipped), report.skipped
        assert c["unchanged"] == c["total"] == first[name].counts["total"] > 0, (name, c)
    assert env.stats()["tokens_spent"] == stats["tokens_spent"] and len(env.stats()["imports"]) == len(stats["imports"])

    # One payment type changes: it is resent, and nothing else moves. The customer accounts that reference
    # payment types are not planned again: the type stays confirmed, and their payload names it, not its label.
    rewrite_csv_rows(env.inbox / "payment_types.csv",
                     lambda _h, rows: [r.replace("PayPal,PayPal Business,", "PayPal,PayPal Business account,")
                                       for r in rows])
    env.restage(("payment_types",))
    third = env.sync()
    assert replanned(third) - waits == {"payment_types"}
    sent = {name: r.counts["sent"] for name, r in third.items()}
    assert sent == {name: 1 if name == "payment_types" else 0 for name in sent}
    assert third["payment_types"].counts["changed"] == 1
    stored = {r["keyPaymentTypeID"]: r for r in env.records("payment_types")}
    assert "PayPal Business account" in str(stored["PAYPAL"])

    # The same export loaded again changes no hub row, so the next sync plans only what waits.
    env.restage(("payment_types",))
    assert replanned(env.sync()) == waits


def test_held_and_rejected_records_keep_their_object_replanning_until_they_settle(env: Env):
    first = env.full_sync()
    held = first["products"].problems.set_index("record_key")
    assert held.loc["KT-1403", "state"] == "held"
    for _ in range(2):
        again = env.full_sync()
        for name in ("products", "price_level_quantity_prices"):
            assert again[name].skipped is None
            assert again[name].counts["held"] == first[name].counts["held"], name
            assert again[name].counts["rejected"] == first[name].counts["rejected"], name
            assert set(again[name].problems["record_key"]) == set(first[name].problems["record_key"]), name

    # The tax code KT-1403 waits for arrives: the product is sent, and once nothing of it waits any more,
    # products is left alone like the rest.
    rewrite_csv_rows(env.inbox / "taxcodes.csv",
                     lambda header, rows: [*rows, "TX-EXPORT0,EXP0,0,Export 0%,Zero-rated export"])
    settled = env.full_sync(restage=("taxcodes",))
    assert settled["taxcodes"].skipped is None and settled["taxcodes"].counts["sent"] == 1
    assert settled["products"].skipped is None and settled["products"].counts["sent"] == 1
    assert settled["products"].counts["held"] == 0
    after = env.full_sync()
    assert NOT_REPLANNED.match(after["products"].skipped or "") and after["products"].counts["sent"] == 0
    assert after["price_level_quantity_prices"].skipped is None  # its zero price is still refused


def test_a_full_refresh_plans_and_resends_whatever_the_mark_says(env: Env):
    env.full_sync()
    assert env.sync()["taxcodes"].skipped
    tokens = env.stats()["tokens_spent"]
    refreshed = env.sync(OutboundOptions(full_refresh=True))
    taxcodes = refreshed["taxcodes"]
    assert taxcodes.skipped is None and taxcodes.counts["sent"] == taxcodes.counts["total"] > 0
    assert env.stats()["tokens_spent"] > tokens
    assert env.sync()["taxcodes"].skipped  # the full refresh left a mark of its own


def test_a_referenced_object_resent_with_new_hashes_replans_nothing_that_references_it(env: Env):
    waits = waiting(env.full_sync())
    env.sync()
    rename_product(env, "KT-1002")
    third = env.sync()
    assert third["products"].counts["changed"] == third["products"].counts["sent"] == 1
    assert replanned(third) == waits  # products waits anyway (its held KT-1403), and what holds behind it
    settled = {name for name in third if "products" in SQUIZZ.object(name).depends_on} - waits
    assert settled == set(SETTLED_DEPENDENTS)
    for name in settled:
        assert NOT_REPLANNED.match(third[name].skipped or ""), (name, third[name].skipped)
    assert {name: r.counts["sent"] for name, r in third.items() if r.counts["sent"]} == {"products": 1}


def test_a_referenced_record_refused_on_resend_replans_and_holds_what_references_it(env: Env):
    env.full_sync()
    env.sync()
    before = {name: env.ledger_keys(name) for name in SETTLED_DEPENDENTS}
    env.post_admin("faults", {"reject": [{"import_type_id": SPECS["products"].type_id, "key": "KT-1001",
                                          "code": "BAD_PRODUCT", "message": "barcode checksum wrong"}]})
    rename_product(env, "KT-1001")
    third = env.sync()
    assert third["products"].counts["rejected"] == 1 and env.ledger_row("products", "KT-1001")["state"] == "rejected"
    for name, sent in before.items():
        held = of_product(sent, "KT-1001")
        assert held, name
        assert third[name].skipped is None, name
        assert third[name].counts["held"] == len(held), name
        assert env.ledger_keys(name, "held") == held and env.ledger_keys(name) == sent - held, name

    # The vendor takes it again: the product lands, and what waited behind it is confirmed once more.
    env.post_admin("faults", {})
    settled = env.sync()
    assert settled["products"].counts["sent"] == 1
    for name, sent in before.items():
        assert settled[name].skipped is None and env.ledger_keys(name) == sent, name
    assert all(NOT_REPLANNED.match(env.sync()[name].skipped or "") for name in SETTLED_DEPENDENTS)


def test_a_ledger_purge_or_a_new_store_plans_everything_again(env: Env, tmp_path: Path):
    first = env.full_sync()
    assert env.sync()["taxcodes"].skipped
    assert env.store.ledger.purge("squizz", "taxcodes") == first["taxcodes"].counts["total"]
    purged = env.sync()
    assert purged["taxcodes"].skipped is None
    assert purged["taxcodes"].counts["new"] == purged["taxcodes"].counts["sent"] == first["taxcodes"].counts["total"]

    # A referenced object's purge re-plans what references it: the customer accounts are sent again first,
    # so the customer prices that reference them find them confirmed and send nothing.
    assert env.sync()["customer_account_prices"].skipped
    env.store.ledger.purge("squizz", "customer_accounts")
    again = env.sync()
    assert again["customer_accounts"].counts["sent"] == first["customer_accounts"].counts["total"]
    prices = again["customer_account_prices"]
    assert prices.skipped is None and prices.counts["sent"] == prices.counts["held"] == 0

    # `make clean` removes the store: a new one has no marks, whatever the sandbox holds.
    env.store.dispose()
    env.store = Store(f"sqlite:///{tmp_path}/clean.sqlite")
    env.store.create_all()
    env.restage()
    fresh = env.sync()
    assert not any(r.skipped for r in fresh.values())
    assert fresh["taxcodes"].counts["sent"] == first["taxcodes"].counts["total"]


def test_an_unchanged_object_is_checked_without_reading_its_ledger_or_those_it_references(env: Env):
    env.full_sync()
    with env.store.engine.begin() as connection:  # any read of the ledger now fails
        connection.execute(text("ALTER TABLE sync_ledger RENAME TO sync_ledger_away"))
    try:
        report = sync_import_type(env.store, env.client, SPECS["customer_account_prices"])
    finally:
        with env.store.engine.begin() as connection:
            connection.execute(text("ALTER TABLE sync_ledger_away RENAME TO sync_ledger"))
    assert NOT_REPLANNED.match(report.skipped or ""), report.skipped
    assert report.counts["unchanged"] == report.counts["total"] > 0


def test_every_setting_a_target_mapping_reads_is_part_of_the_fingerprint():
    targets = Path(__file__).resolve().parents[2] / "b2b_assets" / "targets"
    read = {name for path in targets.rglob("*.py")
            for name in re.findall(r"\bsettings\.([a-z_]+)\(", path.read_text(encoding="utf-8"))}
    assert read and read <= set(PAYLOAD_SETTINGS), read - set(PAYLOAD_SETTINGS)
