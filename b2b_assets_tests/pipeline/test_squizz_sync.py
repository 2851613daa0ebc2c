"""Scenario tests of the SQUIZZ outbound sync, over real HTTP to the bundled sandbox.

Nothing of ours is mocked: the sample export (data/mapping.yaml + data/inbox) is
staged and loaded into a SQLite hub, every import type is pushed through
the generic outbound stage (`sync_object`) with a real `SquizzClient`, and the outcome is read back from the
sandbox's admin API (`/squizz/_admin/records/{type_id}`, `/squizz/_admin/stats`).

Staging the sample export takes seconds, so it is done once per module into a
template directory that each test copies; `Env.full_sync(restage=...)` restages the
entities whose export files the test changed (staging an unchanged file again is a
no-op for the hub, so this is what a full run does to the hub, only faster).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions
from b2b_assets.sandbox.serve import RunningSandboxes, start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import KEY_SEPARATOR, Store
from b2b_assets.store.tables import sync_ledger
from b2b_assets.targets.core.plan import DeletionPolicy, DeletionRefused
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry
from b2b_assets.targets.squizz.errors import SquizzFatalError
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, ImportType
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

from .squizz_steps import sync_import_type

DATA = Path(__file__).resolve().parents[2] / "data"
SPECS = {spec.name: spec for spec in IMPORT_TYPES}
ORG, KEY, PASSWORD = "sandbox-org", "sandbox-key", "sandbox-password"
WRONG_PASSWORD = "not-the-password-xyz"
ALL = tuple(load_order())
TARGET = SQUIZZ.name


# --- fixtures and helpers -------------------------------------------------------------------------------------

def _stage_and_load(root: Path, store: Store, run_id: str, names: tuple[str, ...]) -> None:
    mapping = load_mapping(root / "mapping.yaml")
    for name in load_order(list(names)) if names != ALL else ALL:
        stage_entity(name, mapping, store, root / "staging", root / "reports", run_id, partner_api=None)
        load_entity(store, root / "staging", name)


@pytest.fixture(scope="module")
def staged_template(tmp_path_factory) -> Path:
    """The sample export staged and loaded into a hub once; tests copy this directory."""
    root = tmp_path_factory.mktemp("template")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    _stage_and_load(root, store, "template", ALL)
    store.dispose()
    return root


def make_client(sandboxes: RunningSandboxes, password: str = PASSWORD) -> SquizzClient:
    retry = squizz_retry(budget_seconds=30, backoff_factor=0.05, backoff_max=0.2, backoff_jitter=0.01)
    return SquizzClient(f"{sandboxes.base_url}/squizz", ORG, KEY, password, timeout=2, retry=retry,
                        busy_backoff=0.05)


@dataclass
class Env:
    root: Path
    store: Store
    sandboxes: RunningSandboxes
    client: SquizzClient
    runs: int = 0
    history: list[dict] = field(default_factory=list)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def restage(self, names: tuple[str, ...] = ALL) -> None:
        self.runs += 1
        _stage_and_load(self.root, self.store, f"run-{self.runs}", names)

    def sync(self, options: OutboundOptions = OutboundOptions(), client: SquizzClient | None = None) -> dict:
        reports = {spec.name: sync_import_type(self.store, client or self.client, spec, options)
                   for spec in IMPORT_TYPES}
        self.history.append(reports)
        return reports

    def full_sync(self, restage: tuple[str, ...] = (), options: OutboundOptions = OutboundOptions()) -> dict:
        """Restage + reload `restage` (the hub already holds the rest of the export), then sync every type."""
        if restage:
            self.restage(restage)
        return self.sync(options)

    # read-back -------------------------------------------------------------------------------------------
    def admin(self, path: str) -> dict:
        reply = requests.get(f"{self.sandboxes.base_url}/squizz/_admin/{path}", timeout=5)
        reply.raise_for_status()
        return reply.json()

    def post_admin(self, path: str, body: dict) -> dict:
        reply = requests.post(f"{self.sandboxes.base_url}/squizz/_admin/{path}", json=body, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def records(self, type_name: str) -> list[dict]:
        return self.admin(f"records/{SPECS[type_name].type_id}")["records"]

    def active_keys(self, type_name: str) -> list[str]:
        spec = SPECS[type_name]
        return [sandbox_key(spec, r) for r in self.records(type_name) if r["active"]]

    def stats(self) -> dict:
        return self.admin("stats")

    def ledger_keys(self, type_name: str, state: str = "sent") -> set[str]:
        return {normal_key(k) for k in self.store.ledger.keys_in_state(TARGET, type_name, state)}

    def ledger_row(self, type_name: str, key: str) -> dict:
        c = sync_ledger.c
        with self.store.engine.connect() as connection:
            row = connection.execute(select(c.state, c.last_error, c.attempts).where(
                c.target == TARGET, c.entity == type_name, c.record_key == key)).one()
        return dict(row._mapping)


def _key_part(value) -> str:
    """One key value as text, numbers without a trailing '.0' (the ledger writes 50.0, the platform 50)."""
    if value is None:
        return ""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and not text.isalpha() else text


def normal_key(record_key: str) -> str:
    return KEY_SEPARATOR.join(_key_part(part) for part in str(record_key).split(KEY_SEPARATOR))


def sandbox_key(spec, record: dict) -> str:
    return KEY_SEPARATOR.join(_key_part(record.get(f)) for f in spec.key_fields)


def records_by_type(stats: dict) -> Counter:
    return Counter({int(k): v for k, v in stats["records_by_type"].items()})


@pytest.fixture
def env(staged_template: Path, tmp_path: Path):
    root = tmp_path / "env"
    shutil.copytree(staged_template, root)
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    with start_sandboxes() as sandboxes:
        client = make_client(sandboxes)
        try:
            yield Env(root, store, sandboxes, client)
        finally:
            client.close()
            store.dispose()


def rewrite_csv_rows(path: Path, edit) -> None:
    """Rewrite a CSV export through `edit(header, rows) -> rows`, keeping its BOM and line endings."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    header, rows = lines[0], lines[1:]
    rows = edit(header, rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join([header, *rows]) + "\n").encode("utf-8"))


# --- 1. first sync and an idempotent second sync --------------------------------------------------------------

def test_first_sync_sends_everything_and_second_sync_sends_nothing(env: Env):
    reports = env.full_sync()
    assert list(reports) == [spec.name for spec in IMPORT_TYPES] and len(reports) == 16
    stats = env.stats()
    for name, report in reports.items():
        c = report.counts
        expected = c["total"] - c["held"] - c["invalid"]
        active = env.active_keys(name)
        sent_keys = env.ledger_keys(name)
        assert c["sent"] == c["new"] == expected, (name, c)
        assert c["rejected"] == c["invalid"], (name, report.problems)  # only SQUIZZ's own limits refused any
        assert len(active) == len(set(active)), f"{name}: duplicate records in the sandbox"
        assert len(active) == len(sent_keys) == expected, (name, len(active), len(sent_keys), expected)
        assert set(active) == sent_keys, name
        assert records_by_type(stats)[SPECS[name].type_id] == expected, name
    assert stats["tokens_spent"] == sum(r.counts["sent"] for r in reports.values())
    # the sample's known hold: KT-1403 lacks its tax code, and what depends on it waits too
    assert reports["products"].counts["held"] == 1
    assert reports["price_level_unit_prices"].counts["held"] == 5
    # A zero price is valid in the hub (another target may take it) and refused for SQUIZZ alone.
    zero = reports["price_level_quantity_prices"]
    assert zero.counts["invalid"] == 1 and env.store.hub.count("quantity_prices") == zero.counts["total"]
    assert zero.problems["reason"].str.contains("price must be greater than 0 in SQUIZZ").sum() == 1

    again = env.full_sync()
    assert {n: r.counts["sent"] for n, r in again.items()} == {n: 0 for n in again}
    for name, report in again.items():
        c = report.counts
        assert c["unchanged"] == c["total"] - c["held"] - c["invalid"], (name, c)
        assert c["new"] == c["changed"] == c["deleted"] == 0, (name, c)
    after = env.stats()
    assert after["tokens_spent"] == stats["tokens_spent"]
    assert len(after["imports"]) == len(stats["imports"])


# --- 2. a small change sends exactly that change ----------------------------------------------------------------

def test_changed_products_and_prices_send_only_the_changes(env: Env):
    env.full_sync()
    first = env.stats()
    before = records_by_type(first)

    products = env.inbox / "products.jsonl"
    lines = products.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if '"product_id": "KT-1002"' in line)
    record = json.loads(lines[index])
    record["name"] = record["name"] + " (new edition)"
    lines[index] = json.dumps(record, ensure_ascii=False)
    products.write_text("\n".join(lines) + "\n", encoding="utf-8")

    changed_prices: dict[tuple[str, str, str], str] = {}

    def bump_prices(header: str, rows: list[str]) -> list[str]:
        out = []
        for row in rows:
            fields = next(csv.reader(io.StringIO(row)))
            if len(changed_prices) < 5 and fields[0].startswith("KT-10") and fields[3].replace(".", "").isdigit():
                fields[3] = f"{float(fields[3]) + 1.25:.2f}"
                changed_prices[(fields[0], fields[1], fields[2])] = fields[3]
                row = ",".join(fields)
            out.append(row)
        return out

    rewrite_csv_rows(env.inbox / "unit_prices.csv", bump_prices)
    assert len(changed_prices) == 5

    reports = env.full_sync(restage=("products", "unit_prices"))
    sent = {name: r.counts["sent"] for name, r in reports.items()}
    assert sent == {name: {"products": 1, "price_level_unit_prices": 5}.get(name, 0) for name in sent}
    assert reports["products"].counts["changed"] == 1
    assert reports["price_level_unit_prices"].counts["changed"] == 5

    stats = env.stats()
    growth = records_by_type(stats) - before
    assert growth == Counter({SPECS["products"].type_id: 1, SPECS["price_level_unit_prices"].type_id: 5})
    # What the platform received for the delta: INCREMENT documents (COMPLETE would deactivate the rest).
    delta = stats["imports"][len(first["imports"]):]
    assert [(i["import_type_id"], i["dataTransferMode"], i["version"]) for i in delta] == [
        (SPECS["products"].type_id, "INCREMENT", 1.5), (SPECS["price_level_unit_prices"].type_id, "INCREMENT", 1.5)]

    stored = {r["keyProductID"]: r for r in env.records("products")}
    assert stored["KT-1002"]["name"] == record["name"]
    prices = {(r["keyProductID"], r["keyPriceLevelID"], r["keySellUnitID"]): r["price"]
              for r in env.records("price_level_unit_prices")}
    for key, price in changed_prices.items():
        assert float(prices[key]) == pytest.approx(float(price)), key


# --- 3. a record the platform rejects --------------------------------------------------------------------------

def test_rejected_product_is_isolated_recorded_and_retried(env: Env):
    bad = "KT-1005"
    env.post_admin("faults", {"reject": [{"import_type_id": SPECS["products"].type_id, "key": bad,
                                          "code": "BAD_PRODUCT", "message": "barcode checksum wrong"}]})
    reports = env.full_sync()
    products = reports["products"]
    assert products.counts["rejected"] == 1
    assert products.counts["sent"] == products.counts["total"] - products.counts["held"] - 1
    problem = products.problems[products.problems["record_key"] == bad]
    assert len(problem) == 1 and problem["state"].iloc[0] == "rejected"
    reason = problem["reason"].iloc[0]
    assert "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL" in reason
    assert "BAD_PRODUCT" in reason or "barcode checksum wrong" in reason, reason

    row = env.ledger_row("products", bad)
    assert row["state"] == "rejected" and row["last_error"] and "barcode checksum wrong" in row["last_error"]
    active = set(env.active_keys("products"))
    assert bad not in active
    assert active == env.ledger_keys("products") and len(active) == products.counts["sent"]

    env.post_admin("faults", {})  # the vendor fixed it
    again = env.full_sync()
    assert again["products"].counts["sent"] == 1 and again["products"].counts["rejected"] == 0
    assert env.ledger_row("products", bad)["state"] == "sent"
    assert bad in set(env.active_keys("products"))
    # its prices were held behind it and follow now
    assert again["price_level_unit_prices"].counts["sent"] > 0
    assert not any(k.startswith(bad + KEY_SEPARATOR) for k in env.ledger_keys("price_level_unit_prices", "held"))


# --- 4. a record waiting for its reference ---------------------------------------------------------------------

def test_product_held_for_missing_taxcode_is_sent_once_the_taxcode_arrives(env: Env):
    reports = env.full_sync()
    products = reports["products"]
    assert products.counts["held"] >= 1
    held = products.problems.set_index("record_key")
    assert held.loc["KT-1403", "state"] == "held"
    assert "keyTaxcodeID" in held.loc["KT-1403", "reason"] and "TX-EXPORT0" in held.loc["KT-1403", "reason"]
    assert "KT-1403" not in set(env.active_keys("products"))
    assert env.ledger_row("products", "KT-1403")["state"] == "held"

    rewrite_csv_rows(env.inbox / "taxcodes.csv",
                     lambda header, rows: [*rows, "TX-EXPORT0,EXP0,0,Export 0%,Zero-rated export"])
    again = env.full_sync(restage=("taxcodes",))
    assert again["taxcodes"].counts["sent"] == 1 and again["taxcodes"].counts["new"] == 1
    assert again["products"].counts["sent"] == 1 and again["products"].counts["held"] == 0
    assert again["price_level_unit_prices"].counts["sent"] == 5
    assert again["stock_quantities"].counts["sent"] == 1
    stored = {r["keyProductID"]: r for r in env.records("products")}
    assert stored["KT-1403"]["active"] and stored["KT-1403"]["keyTaxcodeID"] == "TX-EXPORT0"
    assert not stored["KT-1403"]["unassigned_references"]
    assert "TX-EXPORT0" in set(env.active_keys("taxcodes"))
    assert env.ledger_row("products", "KT-1403")["state"] == "sent"


# --- 5. transient faults ---------------------------------------------------------------------------------------

def test_sync_survives_transient_faults_without_duplicates(env: Env):
    env.post_admin("faults", {"seed": 20240611, "rate_limit": 0.07, "server_error": 0.08, "drop": 0.05,
                              "retry_after_seconds": 1, "apply_to": ["import_esd", "create_session"]})
    reports = env.full_sync(options=OutboundOptions(batch_size=60))  # more documents, more chances to fail
    stats = env.stats()
    assert sum(stats["faults_injected"].values()) >= 3, stats["faults_injected"]
    for name, report in reports.items():
        c = report.counts
        expected = c["total"] - c["held"] - c["invalid"]
        assert c["sent"] == expected and c["rejected"] == c["invalid"], (name, c)
        keys = [sandbox_key(SPECS[name], r) for r in env.records(name)]
        assert len(keys) == len(set(keys)), f"{name}: duplicate records"
        assert set(env.active_keys(name)) == env.ledger_keys(name), name
        assert len(keys) == expected, name
    # a faulted request never reached the platform, so nothing was imported (or charged) twice
    assert stats["tokens_spent"] == sum(r.counts["sent"] for r in reports.values())
    assert all(i["result_code"] == "SERVER_SUCCESS" for i in stats["imports"])


# --- 6. wrong credentials --------------------------------------------------------------------------------------

def test_wrong_credentials_stop_the_sync_with_a_clear_message(env: Env):
    bad_client = make_client(env.sandboxes, password=WRONG_PASSWORD)
    try:
        with pytest.raises(SquizzFatalError) as caught:
            sync_import_type(env.store, bad_client, IMPORT_TYPES[0], OutboundOptions())
    finally:
        bad_client.close()
    message = str(caught.value)
    assert caught.value.code == "SERVER_ERROR_INCORRECT_API_CREDENTIALS"
    assert "SQUIZZ_API_PASSWORD" in message
    assert WRONG_PASSWORD not in message and WRONG_PASSWORD not in repr(caught.value)
    assert WRONG_PASSWORD not in repr(bad_client)
    stats = env.stats()
    assert stats["imports"] == [] and stats["tokens_spent"] == 0
    assert env.records(IMPORT_TYPES[0].name) == []
    assert env.store.ledger.counts(TARGET, IMPORT_TYPES[0].name)["sent"] == 0


# --- 7. dry run ------------------------------------------------------------------------------------------------

def test_dry_run_sends_nothing_and_counts_what_a_real_run_sends(env: Env):
    dry = env.sync(OutboundOptions(dry_run=True))
    stats = env.stats()
    assert stats["imports"] == [] and stats["tokens_spent"] == 0
    for name, report in dry.items():
        c = report.counts
        assert report.dry_run and c["sent"] == 0
        assert c["new"] == c["total"] - c["held"] - c["invalid"], (name, c)
        assert c["would_send"] == c["new"] + c["changed"]
    assert all(env.store.ledger.counts(TARGET, name)["sent"] == 0 for name in dry)

    # the first type has no references, so its dry run is exact
    real = env.sync()
    assert dry["taxcodes"].counts["would_send"] == real["taxcodes"].counts["sent"] == 10


def test_dry_run_would_send_matches_tokens_a_real_run_spends(env: Env):
    dry = env.sync(OutboundOptions(dry_run=True, dry_run_dir=env.root / "dry_run"))
    would_send = {name: r.counts["would_send"] for name, r in dry.items()}
    env.sync()
    stats = env.stats()
    spent = {spec.name: int(stats["tokens_by_type"].get(str(spec.type_id), 0)) for spec in IMPORT_TYPES}
    assert would_send == spent
    assert sum(would_send.values()) == stats["tokens_spent"]


# --- 8. deletions ----------------------------------------------------------------------------------------------

def _drop_taxcodes(env: Env, codes: set[str]) -> None:
    rewrite_csv_rows(env.inbox / "taxcodes.csv",
                     lambda header, rows: [r for r in rows if r.split(",", 1)[0] not in codes])


def test_deletion_is_pending_by_default_and_applied_when_enabled(env: Env):
    env.full_sync()
    gone = "VAT-SE25"  # no product uses it
    _drop_taxcodes(env, {gone})

    pending = env.full_sync(restage=("taxcodes",))["taxcodes"]
    assert pending.counts["deletions_pending"] == 1 and pending.counts["deleted"] == 0
    assert pending.counts["sent"] == 0
    assert gone in set(env.active_keys("taxcodes"))
    assert env.ledger_row("taxcodes", gone)["state"] == "sent"

    policy = OutboundOptions(deletions=DeletionPolicy(enabled=True, max_share=0.5))
    deleted = env.sync(policy)["taxcodes"]
    assert deleted.counts["deleted"] == 1 and deleted.counts["deletions_pending"] == 0
    stored = {r["keyTaxcodeID"]: r for r in env.records("taxcodes")}
    assert gone not in stored or stored[gone]["active"] is False
    assert len(env.active_keys("taxcodes")) == 9
    assert env.ledger_row("taxcodes", gone)["state"] == "deleted"
    # nothing else was touched, and the next run has nothing to do
    assert all(r.counts["deleted"] == 0 for n, r in env.history[-1].items() if n != "taxcodes")
    assert env.sync(policy)["taxcodes"].counts["deleted"] == 0


def test_mass_deletion_is_refused(env: Env):
    env.full_sync()
    _drop_taxcodes(env, {"VAT-DE19", "VAT-FR20", "VAT-GB20", "VAT-SE25", "JCT10", "GST-CA5"})
    env.restage(("taxcodes",))
    tokens = env.stats()["tokens_spent"]
    with pytest.raises(DeletionRefused, match="refusing to delete"):
        sync_import_type(env.store, env.client, SPECS["taxcodes"],
                         OutboundOptions(deletions=DeletionPolicy(enabled=True, max_share=0.1)))
    assert len(env.active_keys("taxcodes")) == 10
    assert env.store.ledger.counts(TARGET, "taxcodes")["sent"] == 10
    assert env.stats()["tokens_spent"] == tokens


# --- 9. full refresh: a COMPLETE upload deactivates what it lacks ---------------------------------------------

def test_full_refresh_after_a_truncated_export_is_refused_like_a_mass_deletion(env: Env):
    env.full_sync()
    _drop_taxcodes(env, {"VAT-DE19", "VAT-FR20", "VAT-GB20", "VAT-SE25", "JCT10", "GST-CA5"})
    env.restage(("taxcodes",))
    tokens = env.stats()["tokens_spent"]
    refresh = OutboundOptions(full_refresh=True)

    dry = sync_import_type(env.store, env.client, SPECS["taxcodes"], OutboundOptions(full_refresh=True, dry_run=True))
    assert dry.counts["deactivated"] == 6 and dry.refusal and "deactivate" in dry.refusal
    with pytest.raises(DeletionRefused, match="full refresh"):
        sync_import_type(env.store, env.client, SPECS["taxcodes"], refresh)
    assert len(env.active_keys("taxcodes")) == 10 and env.stats()["tokens_spent"] == tokens

    overridden = OutboundOptions(full_refresh=True, deletions=DeletionPolicy(override=True))
    done = sync_import_type(env.store, env.client, SPECS["taxcodes"], overridden)
    assert done.counts["sent"] == 4 and done.counts["deleted"] == done.counts["deactivated"] == 6
    assert len(env.active_keys("taxcodes")) == 4
    assert env.store.ledger.counts(TARGET, "taxcodes")["deleted"] == 6


def test_full_refresh_of_an_empty_import_type_sends_nothing_and_does_not_crash(env: Env):
    # The latest complete export has no surcharges at all: every hub row is absent from the source.
    env.store.hub.mark_presence("surcharges", env.store.hub.keys("surcharges").iloc[0:0])
    report = sync_import_type(env.store, env.client, SPECS["surcharges"], OutboundOptions(full_refresh=True))
    assert report.counts["total"] == report.counts["sent"] == 0
    assert env.records("surcharges") == []
