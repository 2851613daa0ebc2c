"""Scenario tests of the Norce target through the generic outbound stage, over real HTTP to the sandbox.

The sample export's organizations, locations and users are staged into a SQLite hub once per module; each
test copies that hub, syncs norce/companies then norce/customers with `sync_object` and a real NorceClient,
and reads the outcome back from the sandbox.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from b2b_assets.defs.norce.resources import NorceResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.norce.target import TARGET

from .norce_readback import differences, expected_companies, expected_customers

DATA = Path(__file__).resolve().parents[2] / "data"
ENTITIES = ("organizations", "locations", "users")


def stage(root: Path, store: Store, run_id: str, names=ENTITIES) -> None:
    mapping = load_mapping(root / "mapping.yaml")
    for name in load_order(list(names)):
        stage_entity(name, mapping, store, root / "staging", root / "reports", run_id, partner_api=None)
        load_entity(store, root / "staging", name)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("norce_template")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    stage(root, store, "template")
    store.dispose()
    return root


class Env:
    def __init__(self, root: Path, running):
        self.root, self.running, self.sandbox = root, running, running.norce
        self.store = Store(f"sqlite:///{root}/hub.sqlite")
        self.resource = NorceResource(base_url=f"{running.base_url}/norce", client_id="sandbox-client",
                                      client_secret="sandbox-secret", application_key=DEFAULT_APPLICATION_KEY,
                                      poll_interval_seconds=0.01)
        self.runs = 0

    def sync(self, budget: float = 5.0, **options) -> dict:
        """One run: a fresh sender per run (as the factory builds one per run), both objects in order."""
        self.runs += 1
        sender = TARGET.sender(self.resource)
        options = OutboundOptions(**{"batch_size": 20, "poll_budget_seconds": budget} | options)
        return {obj.name: sync_object(self.store, TARGET, obj, sender, options) for obj in TARGET.objects}

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: self.store.hub.read_all(name, in_source=True) for name in ENTITIES}

    def jobs(self) -> list[dict]:
        return self.sandbox.jobs()


@pytest.fixture
def env(template, tmp_path):
    root = tmp_path / "env"
    shutil.copytree(template, root)
    with start_sandboxes() as running:
        environment = Env(root, running)
        yield environment
        environment.resource.client().close()
        environment.store.dispose()


def test_a_sync_lands_everything_equal_to_the_hub_and_a_second_sends_nothing(env) -> None:
    reports = env.sync()
    assert reports["companies"].counts["sent"] == 25 and reports["customers"].counts["sent"] == 49
    frames = env.frames()
    assert differences(expected_companies(frames), env.sandbox.companies()) == []
    assert differences(expected_customers(frames), env.sandbox.customers()) == []
    jobs = len(env.jobs())

    again = env.sync()
    assert again["companies"].counts["sent"] == 0 and again["customers"].counts["sent"] == 0
    assert again["customers"].counts["unchanged"] == 49 and len(env.jobs()) == jobs


def test_a_parent_company_sorting_after_its_child_lands_before_it_in_a_first_sync(env) -> None:
    """Companies go parents first across the whole entity, however the plan would cut it into ranges: a child
    imported before its parent would land without ParentCompanyCode (Norce only warns)."""
    export = env.root / "inbox" / "customers.txt"
    lines = export.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    parent_no = header.index("ParentNo")
    rows = [line.split("|") for line in lines[1:]]
    child = next(r for r in rows if r[0] == "C-1001")
    child[parent_no] = rows[-1][0]  # the last organization by key
    export.write_text("\n".join([lines[0], *("|".join(r) for r in rows)]) + "\n", encoding="utf-8")
    stage(env.root, env.store, "parent-last")

    reports = env.sync(batch_size=5, plan_range_rows=5)
    assert reports["companies"].counts["sent"] == 25
    companies = {c["Code"]: c for c in env.sandbox.companies()}
    assert companies["C-1001"]["ParentCompanyCode"] == rows[-1][0]
    assert differences(expected_companies(env.frames()), env.sandbox.companies()) == []


def test_one_changed_user_resends_only_that_customer(env) -> None:
    env.sync()
    users = env.root / "inbox" / "users.csv"
    users.write_text(users.read_text(encoding="utf-8").replace("Lea Wagner,lea.wagner@muller01", "Lea Wagner-Ott,lea.wagner@muller01"),
                     encoding="utf-8")
    stage(env.root, env.store, "changed", ("users",))
    reports = env.sync()
    assert reports["customers"].counts["sent"] == 1 and reports["companies"].counts["sent"] == 0
    last = env.jobs()[-1]
    assert last["Operation"] == "ImportCustomers" and last["NrOfItemsInTotal"] == 1
    assert {c["Code"]: c for c in env.sandbox.customers()}["U-5002"]["LastName"] == "Wagner-Ott"


def test_a_validation_failure_is_reported_with_its_log_row_and_retried_next_run(env) -> None:
    env.sandbox.set_faults({"reject": [{"code": "U-5003", "message": "EmailAddress is already used"}]})
    reports = env.sync()
    customers = reports["customers"]
    assert customers.counts["sent"] == 48 and customers.counts["rejected"] == 1
    problem = customers.problems.set_index("record_key").loc["U-5003"]
    assert problem["state"] == "rejected" and "Customer 'U-5003': EmailAddress is already used" in problem["reason"]
    assert "U-5003" not in {c["Code"] for c in env.sandbox.customers()}

    env.sandbox.set_faults({})
    retried = env.sync()
    assert retried["customers"].counts["sent"] == 1
    assert differences(expected_customers(env.frames()), env.sandbox.customers()) == []


def test_one_token_serves_the_run_and_a_401_mid_run_refreshes_once(env) -> None:
    sender = TARGET.sender(env.resource)
    options = OutboundOptions(batch_size=10, poll_budget_seconds=5)
    sync_object(env.store, TARGET, TARGET.object("companies"), sender, options)
    assert env.sandbox.stats()["tokens_issued"] == 1
    env.sandbox.revoke_tokens()
    report = sync_object(env.store, TARGET, TARGET.object("customers"), sender, options)
    assert report.counts["sent"] == 49
    stats = env.sandbox.stats()
    assert stats["tokens_issued"] == 2 and stats["requests"]["ImportCustomers 401"] == 1
    assert len([job for job in env.jobs() if job["Operation"] == "ImportCustomers"]) == 5  # 49 in batches of 10


def test_a_job_still_running_at_the_end_of_a_run_is_settled_next_run_and_never_submitted_twice(env) -> None:
    env.sandbox.configure(jobs_paused=True)
    first = env.sync(budget=0)
    assert first["companies"].counts["submitted"] == 25 and first["companies"].counts["sent"] == 0
    assert first["customers"].counts["held"] == 49  # their companies are not confirmed yet
    jobs = len(env.jobs())

    env.sync(budget=0)  # still running: nothing is submitted again
    assert len(env.jobs()) == jobs

    env.sandbox.configure(jobs_paused=False)
    settled = env.sync()
    assert settled["companies"].counts["sent"] == 25 and settled["customers"].counts["sent"] == 49
    assert len([job for job in env.jobs() if job["Operation"] == "ImportCompanies"]) == 2  # 25 in batches of 20
    assert differences(expected_companies(env.frames()), env.sandbox.companies()) == []
