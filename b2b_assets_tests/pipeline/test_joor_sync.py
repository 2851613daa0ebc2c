"""Scenario tests of the JOOR sync through the generic outbound stage, over real HTTP to the JOOR sandbox.

The sample export (data/mapping.yaml + data/inbox) is staged into a SQLite hub
once per module; each test copies it, syncs `joor/connections` with a real
JoorSender and reads the outcome back from the sandbox (`/joor/_admin/...`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, hub_frames, sync_object
from b2b_assets.sandbox.serve import RunningSandboxes, start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import Store
from b2b_assets.store.tables import sync_ledger
from b2b_assets.targets.joor.client import JoorClient, retrying_session
from b2b_assets.targets.joor.credits import CreditBudget
from b2b_assets.targets.joor.encoding import JSON, XML
from b2b_assets.targets.joor.mapping import SOURCE_ENTITIES, documents
from b2b_assets.targets.joor.target import CONNECTIONS, TARGET, JoorSender

DATA = Path(__file__).resolve().parents[2] / "data"
FAST = OutboundOptions(poll_budget_seconds=5)


def _stage(root: Path, store: Store, run_id: str, names) -> None:
    mapping = load_mapping(root / "mapping.yaml")
    for name in load_order(list(names)):
        stage_entity(name, mapping, store, root / "staging", root / "reports", run_id, partner_api=None)
        load_entity(store, root / "staging", name)


@pytest.fixture(scope="module")
def staged_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("joor-template")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    _stage(root, store, "template", SOURCE_ENTITIES)
    store.dispose()
    return root


@dataclass
class Env:
    root: Path
    store: Store
    sandboxes: RunningSandboxes
    runs: int = 0

    def sender(self, media: str = JSON) -> JoorSender:
        client = JoorClient(f"{self.sandboxes.base_url}/joor", "sandbox-token", media=media, budget=CreditBudget(),
                            session=retrying_session(backoff_factor=0.01))
        return JoorSender(client, poll_interval_seconds=0.02)

    def sync(self, media: str = JSON, options: OutboundOptions = FAST):
        return sync_object(self.store, TARGET, CONNECTIONS, self.sender(media), options)

    def restage(self, *names: str) -> None:
        self.runs += 1
        _stage(self.root, self.store, f"run-{self.runs}", names)

    def expected(self) -> dict[str, dict]:
        """What the hub says JOOR should hold: the mapped connections JOOR's limits let through."""
        payload = CONNECTIONS.to_payload(hub_frames(self.store, CONNECTIONS.source_entities))
        refused = CONNECTIONS.limits(payload)
        rows = payload.records[~payload.records["record_key"].isin(refused.index)]
        return {doc["customer_code"]: doc for doc in documents(payload, rows)}

    def jobs(self) -> list[dict]:
        return self.sandboxes.joor.jobs()

    def ledger(self) -> dict[str, tuple[str, str | None]]:
        c = sync_ledger.c
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(c.record_key, c.state, c.last_error).where(
                c.target == "joor", c.entity == "connections")).all()
        return {key: (state, error) for key, state, error in rows}

    def edit_inbox(self, file: str, old: str, new: str) -> None:
        path = self.root / "inbox" / file
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def env(staged_template: Path, tmp_path: Path):
    root = tmp_path / "env"
    shutil.copytree(staged_template, root)
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    with start_sandboxes() as sandboxes:
        try:
            yield Env(root, store, sandboxes)
        finally:
            store.dispose()


@pytest.mark.parametrize("media", [JSON, XML])
def test_every_valid_organization_lands_as_a_connection_equal_to_the_hub(env: Env, media: str) -> None:
    report = env.sync(media)
    expected = env.expected()
    assert len(expected) == 25
    assert report.counts["sent"] == 25 and report.counts["rejected"] == 0 and report.counts["submitted"] == 0
    assert env.sandboxes.joor.connections() == expected
    assert {state for state, _ in env.ledger().values()} == {"sent"}
    assert {job["media_type"] for job in env.jobs()} == {media}


def test_a_second_sync_creates_no_job(env: Env) -> None:
    env.sync()
    jobs = len(env.jobs())
    report = env.sync()
    assert report.counts["sent"] == 0 and report.counts["unchanged"] == 25
    assert len(env.jobs()) == jobs


def test_one_changed_organization_or_buyer_sends_exactly_that_connection(env: Env) -> None:
    env.sync()
    env.edit_inbox("customers.txt", "|Brooklyn Hardware|", "|Brooklyn Hardware & Co|")
    env.restage("organizations")
    report = env.sync()
    assert report.counts["sent"] == 1
    last = env.jobs()[-1]
    assert last["connection_record_count"] == 1 and [r["customer_code"] for r in last["sandbox_connection_results"]] == ["C-1007"]
    assert env.sandboxes.joor.connections()["C-1007"]["customer_alias"] == "Brooklyn Hardware & Co"

    env.edit_inbox("users.csv", "Lea Wagner,lea.wagner@muller01.example", "Lea Wagner-Koch,lea.wagner@muller01.example")
    env.restage("users")
    report = env.sync()
    assert report.counts["sent"] == 1
    assert [r["customer_code"] for r in env.jobs()[-1]["sandbox_connection_results"]] == ["C-1001"]
    buyers = env.sandboxes.joor.connections()["C-1001"]["buyers"]
    assert "Lea Wagner-Koch" in {b["buyer_name"] for b in buyers}
    assert env.sandboxes.joor.connections() == env.expected()


def test_in_key_ranges_a_changed_sales_rep_resends_the_connections_naming_it_and_a_buyer_only_its_own(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    ranges = OutboundOptions(poll_budget_seconds=5, plan_range_rows=4)  # several ranges of organizations
    assert env.sync(options=ranges).counts["sent"] == 25
    assert env.sandboxes.joor.connections() == env.expected()
    orgs = env.store.hub.read_all("organizations", in_source=True)
    named = set(orgs.loc[orgs["sales_rep_id"] == "SR-02", "organization_number"])
    assert len(named) == 3

    # A sales rep is a lookup every range reads whole: its new code reaches every connection naming it.
    reps = env.root / "inbox" / "sales_reps.csv"
    reps.write_bytes(reps.read_bytes().replace(b"SR-02;FLEF;", b"SR-02;FLX2;", 1))
    env.restage("sales_reps")
    jobs = len(env.jobs())
    report = env.sync(options=ranges)
    resent = {r["customer_code"] for job in env.jobs()[jobs:] for r in job["sandbox_connection_results"]}
    assert report.counts["sent"] == 3 and resent == named
    assert {env.sandboxes.joor.connections()[code]["sales_rep_code"] for code in named} == {"FLX2"}

    # A buyer is a nested row: only its organization is planned, the rest taken from the ledger.
    caplog.set_level(logging.INFO, logger="b2b_assets.pipeline.outbound_changed")
    env.edit_inbox("users.csv", "Lea Wagner,lea.wagner@muller01.example", "Lea Wagner-Koch,lea.wagner@muller01.example")
    env.restage("users")
    report = env.sync(options=ranges)
    assert report.counts["sent"] == 1 and report.counts["unchanged"] == 24
    assert any("planned the 1 rows changed since its last sync" in m for m in caplog.messages), caplog.messages
    assert env.sandboxes.joor.connections() == env.expected()


def test_a_job_kept_started_past_the_budget_is_settled_by_the_next_run_and_not_resubmitted(env: Env) -> None:
    env.sandboxes.joor.configure(hold_started=True)
    first = env.sync(options=OutboundOptions(poll_budget_seconds=0.2))
    assert first.counts["submitted"] == 25 and first.counts["sent"] == 0
    assert {state for state, _ in env.ledger().values()} == {"submitted"}
    jobs = len(env.jobs())
    env.sandboxes.joor.configure(hold_started=False)
    second = env.sync()
    assert second.counts["sent"] == 25 and second.counts["submitted"] == 0
    assert len(env.jobs()) == jobs  # settled, not submitted again
    assert env.sandboxes.joor.connections() == env.expected()


def test_a_failed_job_is_reported_and_its_records_are_retried_and_land(env: Env) -> None:
    env.sandboxes.joor.configure(fail_next_jobs=1)
    first = env.sync()
    assert first.counts["rejected"] == 25 and first.counts["sent"] == 0
    reasons = set(first.problems["reason"])
    assert len(reasons) == 1 and "failed" in reasons.pop() and "log_id" in next(iter(set(first.problems["reason"])))
    assert env.sandboxes.joor.connections() == {}
    second = env.sync()
    assert second.counts["sent"] == 25
    assert env.sandboxes.joor.connections() == env.expected()


def test_per_record_results_reject_just_that_connection_and_it_lands_next_run(env: Env) -> None:
    env.sandboxes.joor.set_faults({"reject": [{"customer_code": "C-1005", "comment": "unknown price type"}]})
    first = env.sync()
    assert first.counts["sent"] == 24 and first.counts["rejected"] == 1
    assert env.ledger()["C-1005"] == ("rejected", "JOOR refused the connection: unknown price type")
    env.sandboxes.joor.set_faults({})
    second = env.sync()
    assert second.counts["sent"] == 1
    assert env.sandboxes.joor.connections() == env.expected()


def test_under_sustained_429s_the_sync_slows_down_and_completes(env: Env) -> None:
    env.sandboxes.joor.set_faults({"rate_limit": 0.6, "seed": 3, "retry_after_seconds": 0})
    report = env.sync(options=OutboundOptions(batch_size=5, poll_budget_seconds=10))
    assert report.counts["sent"] == 25
    assert env.sandboxes.joor.stats()["faults_injected"]["rate_limit"] > 0
    assert env.sandboxes.joor.connections() == env.expected()


def test_an_xml_reply_with_an_external_entity_does_not_stop_the_sync(env: Env, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    env.sandboxes.joor.configure(xml_reply_entity=secret.as_uri())
    report = env.sync(XML)
    assert report.counts["sent"] == 25
    assert "TOP-SECRET" not in repr(env.ledger())
