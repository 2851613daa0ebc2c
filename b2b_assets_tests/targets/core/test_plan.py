"""The planner against a real ledger: what gets sent, what waits, what a mapping change does."""

from __future__ import annotations

import pandas as pd
import pytest

from b2b_assets.store import Store
from b2b_assets.targets.core.plan import DeletionPolicy, DeletionRefused, payload_hash, plan


@pytest.fixture
def ledger(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/hub.sqlite")
    store.create_all()
    return store.ledger


def records(**columns) -> pd.DataFrame:
    return pd.DataFrame({"record_key": ["A", "B", "C"], **columns})


def hashes_of(frame: pd.DataFrame, children: pd.DataFrame | None = None) -> pd.DataFrame:
    return pd.DataFrame({"record_key": frame["record_key"], "payload_hash": payload_hash(frame, children)})


def confirm(ledger, current: pd.DataFrame, state: str = "sent") -> None:
    ledger.record("squizz", "products", current.assign(state=state, last_error=None))


def test_only_new_and_changed_records_are_planned_for_sending(ledger):
    first = hashes_of(records(name=["a", "b", "c"]))
    assert plan("squizz", "products", first, ledger.load("squizz", "products")).counts()["new"] == 3
    confirm(ledger, first)
    second = hashes_of(records(name=["a", "B!", "c"]))
    result = plan("squizz", "products", second, ledger.load("squizz", "products"))
    assert result.counts()["changed"] == 1 and result.counts()["unchanged"] == 2
    assert list(result.keys("changed")) == ["B"]


def test_a_mapping_change_resends_every_record(ledger):
    before = hashes_of(records(name=["a", "b", "c"]))
    confirm(ledger, before)
    renamed = hashes_of(records(productName=["a", "b", "c"]))  # same values under another field name
    assert plan("squizz", "products", renamed, ledger.load("squizz", "products")).counts()["changed"] == 3


def test_nested_children_count_but_not_their_order(ledger):
    parent = records(name=["a", "b", "c"])
    children = pd.DataFrame({"parent_key": ["A", "A", "B"], "unit": ["EA", "PK", "EA"]})
    confirm(ledger, hashes_of(parent, children))
    reordered = children.iloc[[1, 0, 2]].reset_index(drop=True)
    assert plan("squizz", "products", hashes_of(parent, reordered),
                ledger.load("squizz", "products")).counts()["unchanged"] == 3
    grown = pd.concat([children, pd.DataFrame({"parent_key": ["C"], "unit": ["EA"]})], ignore_index=True)
    result = plan("squizz", "products", hashes_of(parent, grown), ledger.load("squizz", "products"))
    assert list(result.keys("changed")) == ["C"]


def test_rejected_records_are_retried_and_held_ones_wait_with_their_reason(ledger):
    current = hashes_of(records(name=["a", "b", "c"]))
    confirm(ledger, current.iloc[[0]])
    confirm(ledger, current.iloc[[1]], state="rejected")
    held = pd.Series({"C": "keyTaxcodeID 'X' is not yet at the target's taxcodes"})
    result = plan("squizz", "products", current, ledger.load("squizz", "products"), held_reasons=held)
    assert list(result.keys("changed")) == ["B"]  # same payload, but never confirmed: resent
    assert list(result.keys("held")) == ["C"]  # first, so a record not held fails here, not on its reason
    assert result.records.set_index("record_key").loc["C", "reason"].startswith("keyTaxcodeID")


def test_deletions_wait_unless_enabled_and_a_mass_deletion_is_refused(ledger):
    confirm(ledger, hashes_of(records(name=["a", "b", "c"])))
    remaining = hashes_of(records(name=["a", "b", "c"]).iloc[:1])
    pending = plan("squizz", "products", remaining, ledger.load("squizz", "products"))
    assert pending.counts()["deletions_pending"] == 2 and pending.counts()["deleted"] == 0
    with pytest.raises(DeletionRefused, match="67%"):
        plan("squizz", "products", remaining, ledger.load("squizz", "products"),
             deletions=DeletionPolicy(enabled=True, max_share=0.5))
    allowed = plan("squizz", "products", remaining, ledger.load("squizz", "products"),
                   deletions=DeletionPolicy(enabled=True, max_share=0.5, override=True))
    assert sorted(allowed.deletions) == ["B", "C"]


def test_a_record_in_an_open_job_is_pending_and_not_planned_again(ledger):
    current = hashes_of(records(name=["a", "b", "c"]))
    ledger.record("joor", "products", current.assign(state="submitted", last_error=None, job_id="job-1"))
    result = plan("joor", "products", current, ledger.load("joor", "products"))
    assert result.counts()["pending"] == 3 and result.keys("new", "changed").empty


def test_a_full_refresh_that_would_deactivate_most_of_the_target_is_refused_unless_overridden(ledger):
    current = hashes_of(records(name=["a", "b", "c"]))
    confirm(ledger, current)
    truncated = current.iloc[:1]
    with pytest.raises(DeletionRefused, match="full refresh"):
        plan("squizz", "products", truncated, ledger.load("squizz", "products"), full_refresh=True, complete=True)
    dry = plan("squizz", "products", truncated, ledger.load("squizz", "products"), full_refresh=True, complete=True,
               enforce=False)
    assert dry.counts()["deactivated"] == 2 and "deactivate" in dry.refusal
    forced = plan("squizz", "products", truncated, ledger.load("squizz", "products"), full_refresh=True,
                  complete=True, deletions=DeletionPolicy(override=True))
    assert list(forced.deactivations) == ["B", "C"] and forced.refusal is None
