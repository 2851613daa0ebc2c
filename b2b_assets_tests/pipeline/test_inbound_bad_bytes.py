"""Bad bytes through staging and the hub, on SQLite and on a real PostgreSQL: one bad row never aborts
its batch, and an export that yields nothing usable deletes nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.store import Store
from b2b_assets.store.keys import record_key
from b2b_assets.targets.core.plan import DeletionPolicy, LedgerState, plan
from b2b_assets_tests.pipeline.stores import one_file_store

HEADER = "organization_number,organization_name,status,sales_rep_email\n"
FULL = HEADER + "".join(f"C-{i},Org {i},active,\n" for i in range(1, 6))


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path):
    yield from one_file_store(request, tmp_path, "organizations", "orgs.csv")


def sync_file(env, content: bytes | str, run_id: str):
    store, mapping, tmp = env
    (tmp / "inbox" / "orgs.csv").write_bytes(content if isinstance(content, bytes) else content.encode())
    staged = stage_entity("organizations", mapping, store, tmp / "staging", tmp / "reports", run_id)
    return staged, load_entity(store, tmp / "staging", "organizations")


def test_a_nul_byte_is_quarantined_and_the_rest_of_the_batch_lands(env):
    store = env[0]
    staged, loaded = sync_file(env, HEADER + "C-1,Acme,active,\nC-\x002,Nul key,active,\nC-3,Nul\x00name,active,\n"
                                              "C-4,Delta,active,bad\x00@mail\n", "run-1")
    assert loaded.inserted == 1 and store.hub.count("organizations") == 1
    quarantined = store.quarantine.for_run("run-1").set_index("row_number")
    assert quarantined.loc[2, "field"] == "organization_number" and quarantined.loc[2, "value"] == "C-\\x002"
    assert "U+0000 (NUL)" in quarantined.loc[3, "reason"]
    assert staged.rows_read == 4 and staged.rows_quarantined == 3


def planned_deletions(store: Store, sent_keys: pd.Series) -> pd.Series:
    """What a target that confirmed `sent_keys` would now plan to delete (deletions on, as a user would)."""
    current = store.hub.read_all("organizations", in_source=True)
    hashes = pd.DataFrame({"record_key": record_key("organizations", current), "payload_hash": 0})
    ledger = pd.DataFrame({"record_key": sent_keys, "payload_hash": 0, "state": LedgerState.SENT.value})
    return plan("test", "organizations", hashes, ledger, deletions=DeletionPolicy(enabled=True, override=True)).deletions


@pytest.mark.parametrize("second_export", ["header only", "empty file", "all rows invalid", "unreadable"])
def test_an_export_that_yields_nothing_usable_after_a_full_one_deletes_nothing(env, second_export):
    store = env[0]
    sync_file(env, FULL, "run-1")
    sent = record_key("organizations", store.hub.read_all("organizations"))
    content = {"header only": HEADER, "empty file": "",
               "all rows invalid": HEADER + "".join(f"C-{i},Org {i},on holiday,\n" for i in range(1, 6)),
               "unreadable": FULL.encode("utf-16")[:-1]}[second_export]
    _, loaded = sync_file(env, content, "run-2")
    assert loaded.absent_from_export == 0
    assert planned_deletions(store, sent).empty
    # The same check sees a real truncation, so it is not blind.
    _, truncated = sync_file(env, HEADER + "C-1,Org 1,active,\n", "run-3")
    assert truncated.absent_from_export == 4 and len(planned_deletions(store, sent)) == 4


def test_look_alike_keys_are_counted_for_the_entity(env):
    staged, loaded = sync_file(env, HEADER + "C-1,Acme,active,\nc-1,Lower,active,\nC -1,Spaced,active,\n", "run-1")
    assert staged.look_alike_keys == 2 and loaded.inserted == 3  # reported, not merged: keys are case-sensitive
    assert any("differ from an earlier key only in case or spacing" in w for w in staged.warnings)
