"""The outbound conformance suite: every target on the contract must pass it, against its sandbox over HTTP.

Shaped like dlt's destination tests: each case runs once per target in
`adapters.ADAPTERS` (SQUIZZ, JOOR's API and its Customer Sync file, and two toy
targets, one synchronous and one asynchronous, that prove neither the core nor
the suite depends on SQUIZZ). A case that cannot fit a target (per-record
refusal for a file) is skipped with the adapter's reason.

What a target must provide to plug in (one `Conformance` in adapters.py):
- its `Target` from the registry (objects, sender, resource, cost);
- a sandbox started as a context manager, serving its API on 127.0.0.1;
- its Dagster resource against that sandbox, and one with a wrong secret;
- read-back: the record keys the sandbox holds per object (duplicates kept),
  and how many records it has accepted (or taken into jobs) in total;
- steering: a transient fault rate, refusing one record with the vendor's
  code, and (asynchronous targets) keeping jobs running and failing jobs;
- the names the cases use: a parent and a child object (the child references
  the parent), a hub entity and text column whose object the 1% case changes,
  and a child key the refuse case refuses.
Every target reads the same hub: the bundled sample export, staged once.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sources.mapping import load_mapping
from b2b_assets.store import Store, record_key
from b2b_assets.targets.core.contract import AsyncSender, Batch, LedgerState

from .adapters import ADAPTERS, Conformance, squizz_ledger_form

DATA = Path(__file__).resolve().parents[3] / "data"


class Killed(Exception):
    """The worker died: the target got the batch, the ledger never heard back."""


@pytest.fixture(scope="module")
def staged_hub(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub")
    shutil.copytree(DATA / "inbox", root / "inbox")
    shutil.copy(DATA / "mapping.yaml", root / "mapping.yaml")
    store = Store(f"sqlite:///{root}/hub.sqlite")
    store.create_all()
    mapping = load_mapping(root / "mapping.yaml")
    for name in load_order():
        stage_entity(name, mapping, store, root / "staging", root / "reports", "conformance", partner_api=None)
        load_entity(store, root / "staging", name)
    store.dispose()
    return root


class Run:
    """One target, its running sandbox and a private copy of the hub."""

    def __init__(self, adapter: Conformance, sandbox, root: Path):
        self.adapter, self.sandbox, self.target = adapter, sandbox, adapter.target
        self.root = root
        self.store = Store(f"sqlite:///{root}/hub.sqlite")

    def skip_if_not_applicable(self, case: str) -> None:
        reason = self.adapter.not_applicable.get(case)
        if reason:
            pytest.skip(f"{self.target.name}: {reason}")

    def sender(self, secret: str | None = None):
        return self.target.sender(self.adapter.resource(self.sandbox, secret))

    def sync(self, objects: tuple[str, ...] | None = None, sender=None, **options) -> dict:
        sender = sender or self.sender()
        chosen = [o for o in self.target.objects if objects is None or o.name in objects]
        opts = OutboundOptions(**{"batch_size": 40, "poll_budget_seconds": 5.0, **options})
        return {o.name: sync_object(self.store, self.target, o, sender, opts) for o in chosen}

    def ledger_keys(self, name: str, state: str = LedgerState.SENT.value) -> set[str]:
        keys = self.store.ledger.keys_in_state(self.target.name, name, state)
        return {self.form(k) for k in keys}

    def form(self, key: str) -> str:
        return squizz_ledger_form(key) if self.target.name == "squizz" else key

    def stored(self, name: str) -> list[str]:
        return self.adapter.stored(self.sandbox, name)

    def received(self) -> int:
        return self.adapter.received(self.sandbox)

    def assert_sandbox_equals_ledger(self) -> None:
        for obj in self.target.objects:
            stored = self.stored(obj.name)
            assert len(stored) == len(set(stored)), f"{obj.name}: duplicates at the target"
            assert set(stored) == self.ledger_keys(obj.name), obj.name


@pytest.fixture(params=sorted(ADAPTERS))
def run(request, staged_hub, tmp_path):
    adapter = ADAPTERS[request.param]
    shutil.copy(staged_hub / "hub.sqlite", tmp_path / "hub.sqlite")
    with adapter.sandbox() as sandbox:
        r = Run(adapter, sandbox, tmp_path)
        yield r
        r.store.dispose()


def _expected(report) -> int:
    c = report.counts
    return c["total"] - c["held"] - c["invalid"]


def test_second_sync_sends_nothing(run: Run):
    first = run.sync()
    assert all(r.counts["sent"] == _expected(r) for r in first.values()), {n: r.counts for n, r in first.items()}
    received = run.received()
    second = run.sync()
    assert {n: r.counts["sent"] for n, r in second.items()} == dict.fromkeys(second, 0)
    assert all(r.counts["unchanged"] == _expected(r) for r in second.values())
    assert run.received() == received


def test_one_percent_changed_sends_exactly_those(run: Run):
    run.sync()
    entity, column = run.adapter.changed
    frame = run.store.hub.read_all(entity)
    sent = run.ledger_keys(run.adapter.changed_object)
    at_target = frame[record_key(entity, frame).isin(sent).to_numpy()]
    picked = at_target.sample(n=max(1, len(frame) // 100), random_state=3)
    run.store.hub.upsert(entity, picked.assign(**{column: picked[column] + " (changed)"}))
    again = run.sync()
    changed = again[run.adapter.changed_object]
    assert changed.counts["sent"] == changed.counts["changed"] == len(picked)
    assert all(r.counts["sent"] == 0 for n, r in again.items() if n != run.adapter.changed_object)
    run.assert_sandbox_equals_ledger()


def test_held_record_is_released_when_its_parent_lands(run: Run):
    child, parent = run.adapter.child, run.adapter.parent
    if parent is None:
        pytest.skip(f"{run.target.name}'s objects reference nothing, so nothing of it is ever held")
    alone = run.sync(objects=(child,))[child]
    assert alone.counts["held"] > 0  # every record referencing a parent the target lacks waits
    held_before = run.ledger_keys(child, LedgerState.HELD.value)
    assert not held_before & set(run.stored(child))
    everything = run.sync()
    assert everything[parent].counts["sent"] > 0
    released = held_before - run.ledger_keys(child, LedgerState.HELD.value)
    assert released and released <= run.ledger_keys(child) and released <= set(run.stored(child))


def test_refused_record_is_isolated_reported_with_the_vendor_code_and_retried(run: Run):
    run.skip_if_not_applicable("refuse")
    child, bad = run.adapter.child, run.adapter.refusable
    run.adapter.refuse(run.sandbox, child, bad)
    report = run.sync()[child]
    assert report.counts["rejected"] - report.counts["invalid"] == 1
    assert report.counts["sent"] == _expected(report) - 1
    problem = report.problems[report.problems["record_key"] == bad]
    assert len(problem) == 1 and run.adapter.vendor_code in problem["reason"].iloc[0]
    assert bad not in run.stored(child) and run.ledger_keys(child, LedgerState.REJECTED.value) >= {bad}
    run.adapter.refuse(run.sandbox, child, None)  # the vendor fixed it
    again = run.sync()[child]
    assert again.counts["sent"] == 1 and bad in run.ledger_keys(child) and bad in run.stored(child)


def test_twenty_percent_transient_faults_end_with_the_sandbox_equal_to_the_ledger(run: Run):
    run.adapter.faults(run.sandbox, 0.2)
    reports = run.sync(batch_size=15)
    run.adapter.faults(run.sandbox, 0.0)
    assert all(r.counts["sent"] == _expected(r) for r in reports.values())
    run.assert_sandbox_equals_ledger()


def test_a_kill_mid_batch_resends_at_most_one_batch_and_loses_nothing(run: Run):
    run.skip_if_not_applicable("kill")
    batch_size = 5
    with pytest.raises(Killed):
        run.sync(batch_size=batch_size, sender=_killing(run.sender(), after=3))
    run.sync(batch_size=batch_size)
    run.assert_sandbox_equals_ledger()
    confirmed = sum(len(run.ledger_keys(o.name)) for o in run.target.objects)
    assert confirmed <= run.received() <= confirmed + batch_size


def test_a_job_still_running_at_the_end_of_a_run_is_settled_next_run_and_never_submitted_twice(run: Run):
    if not run.adapter.asynchronous:
        pytest.skip(f"{run.target.name} answers in the same request; it has no jobs")
    parent = run.adapter.parent or run.adapter.child
    run.adapter.hold_jobs(run.sandbox, True)
    first = run.sync(objects=(parent,), poll_budget_seconds=0)[parent]
    assert first.counts["sent"] == 0 and first.counts["submitted"] == _expected(first) > 0
    assert run.ledger_keys(parent, LedgerState.SUBMITTED.value) and not run.stored(parent)
    meanwhile = run.sync(objects=(parent,), poll_budget_seconds=0)[parent]  # jobs still running: nothing resent
    assert meanwhile.counts["submitted"] == first.counts["submitted"] and meanwhile.counts["new"] == 0
    run.adapter.hold_jobs(run.sandbox, False)
    settled = run.sync(objects=(parent,), poll_budget_seconds=0)[parent]
    assert settled.counts["sent"] == first.counts["submitted"] and settled.counts["submitted"] == 0
    assert run.adapter.max_submissions(run.sandbox) == 1
    assert run.store.ledger.open_jobs(run.target.name, parent).empty
    run.assert_sandbox_equals_ledger()


def test_a_failed_job_rejects_its_records_with_the_target_message_and_they_are_retried(run: Run):
    if not run.adapter.asynchronous:
        pytest.skip(f"{run.target.name} answers in the same request; it has no jobs")
    parent = run.adapter.parent or run.adapter.child
    run.adapter.fail_jobs(run.sandbox, True)
    failed = run.sync(objects=(parent,))[parent]
    assert failed.counts["sent"] == 0 and failed.counts["rejected"] == _expected(failed) > 0
    assert failed.problems["reason"].str.contains(run.adapter.job_failure_code).all()
    assert not run.stored(parent) and len(run.ledger_keys(parent, LedgerState.REJECTED.value)) == _expected(failed)
    run.adapter.fail_jobs(run.sandbox, False)
    again = run.sync(objects=(parent,))[parent]
    assert again.counts["sent"] == _expected(again)
    run.assert_sandbox_equals_ledger()


def test_the_dry_run_counts_and_cost_equal_what_the_real_run_does(run: Run):
    dry = run.sync(dry_run=True, dry_run_dir=run.root / "dry")
    assert run.received() == 0
    real = run.sync()
    for name, report in real.items():
        assert dry[name].counts["would_send"] == report.counts["charged"], name
        assert dry[name].counts["cost"] == report.counts["cost"], name
        assert dry[name].counts["held"] == report.counts["held"], name
    assert run.received() == sum(r.counts["would_send"] for r in dry.values())


def test_wrong_credentials_fail_fast_send_nothing_and_leave_no_secret_in_the_event_log(run: Run):
    secret = "wrong-Secret-that-must-not-leak-42"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            build_target_assets(run.target), instance=instance, raise_on_error=False,
            resources={"store": StoreResource(url=run.store.url),
                       run.target.resource_key: run.adapter.resource(run.sandbox, secret)})
        assert not result.success
        steps = Counter(e.event_type_value for e in result.all_events)
        assert steps["STEP_FAILURE"] >= 1 and steps["ASSET_MATERIALIZATION"] == 0
        logged = "\n".join(str(record.dagster_event or record.user_message)
                           for record in instance.all_logs(result.run_id))
        assert secret not in logged
    assert run.received() == 0
    assert all(not run.stored(o.name) for o in run.target.objects)


# --- a worker that dies right after the target took a batch ----------------------------------------------------

def _killing(sender, after: int):
    """The real sender, killed after its `after`-th batch reached the target (before the ledger heard back)."""
    return _KillingAsync(sender, after) if isinstance(sender, AsyncSender) else _KillingSync(sender, after)


class _KillingSync:
    def __init__(self, sender, after: int):
        self.sender, self.left = sender, after

    def send(self, batch: Batch) -> None:
        self.sender.send(batch)
        self.left -= 1
        if self.left == 0:
            raise Killed


class _KillingAsync:
    def __init__(self, sender, after: int):
        self.sender, self.left = sender, after
        self.poll_interval_seconds = sender.poll_interval_seconds

    def submit(self, batch: Batch) -> str:
        job_id = self.sender.submit(batch)
        self.left -= 1
        if self.left == 0:
            raise Killed
        return job_id

    def poll(self, job_id: str):
        return self.sender.poll(job_id)
