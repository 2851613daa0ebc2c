"""`b2b-sync status`, `why KEY`, `retry-failed` and a failed run's summary, run as a user runs them.

Real parts: `b2b-sync` itself (a subprocess for anything that runs Dagster, since
definitions.py binds the vendor URLs when it is imported; in this process for
the read-only `status` and `why`), a real sync of the bundled sample into the
sandboxes over HTTP and FTP, and the SQLite store it leaves.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import dagster as dg
import pytest
import requests

from b2b_assets import cli
from b2b_assets.definitions import defs
from b2b_assets.defs.health.run_report import FAILED_CHECKS
from b2b_assets.defs.ops.retry import retry_failed
from b2b_assets.pipeline.outbound import OutboundOptions
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.targets.core.plan import DeletionPolicy
from b2b_assets.targets.registry import TARGETS
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, import_type
from b2b_assets_tests.test_cli_safety import _pointed_at
from b2b_assets_tests.test_full_sync import sandbox_resources

REPO = Path(__file__).resolve().parent.parent


def _workspace(tmp: Path, sandboxes) -> dict[str, str]:
    """A private copy of the sample export and state, every endpoint at `sandboxes`: the variables to run with."""
    shutil.copytree(REPO / "data" / "inbox", tmp / "data" / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp / "data" / "mapping.yaml")
    return {**_pointed_at(sandboxes), "B2B_MAPPING": str(tmp / "data" / "mapping.yaml"),
            "B2B_STATE_DIR": str(tmp / "state"), "B2B_REPORTS_DIR": str(tmp / "reports"),
            "DAGSTER_HOME": str(tmp / "dagster_home"), "B2B_HUB_URL": f"sqlite:///{tmp}/state/hub.sqlite"}


def b2b_sync(workspace: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUIZZ_", "JOOR_", "NORCE_", "PARTNER_", "B2B_"))}
    env.update(workspace, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "b2b_assets.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)


def _cli(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with patch.dict(os.environ):  # the CLI fills in sandbox credentials: none may outlive this command
        code = cli.main(list(args))
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """One real `b2b-sync sync` of the sample; the read-only commands run in this process over what it left."""
    tmp = tmp_path_factory.mktemp("synced")
    with start_sandboxes() as sandboxes, pytest.MonkeyPatch.context() as monkeypatch:
        workspace = _workspace(tmp, sandboxes)
        run = b2b_sync(workspace, "sync")
        # The sample's deliberate rejections fail checks at ERROR: the run succeeded, the exit code says so.
        assert run.returncode == FAILED_CHECKS, run.stdout[-3000:] + run.stderr[-3000:]
        for name, value in workspace.items():
            monkeypatch.setenv(name, value)
        store = Store(workspace["B2B_HUB_URL"])
        yield store
        store.dispose()


def test_why_tells_each_branch_of_a_records_story(synced, capsys):
    store = synced
    # A product exported twice: the first row loads and is sent, the second is quarantined as a duplicate.
    code, out = _cli(capsys, "why", "KT-1101")
    hash_ = store.ledger.load("squizz", "products").set_index("record_key").loc["KT-1101", "payload_hash"]
    assert code == 0
    assert "products: products.jsonl row 7: valid" in out
    assert re.search(r"products\.jsonl row 24: quarantined: product_id = 'KT-1101': duplicate key", out)
    assert "products: in the latest export" in out
    assert f"squizz/products (KT-1101): sent; payload hash {hash_};" in out

    # A user whose only row is quarantined: in the export, never in the hub, no target.
    code, out = _cli(capsys, "why", "U-5033")
    assert code == 0
    assert "users: users.csv row 33: quarantined: email = 'karin.ahlen at goteborgs17.example'" in out
    assert "not in the hub" in out and "no target has planned it" in out

    # Held by a target: the product's tax code is not at SQUIZZ, so its prices wait for the product.
    code, out = _cli(capsys, "why", "KT-1403")
    assert code == 0
    assert "squizz/products (KT-1403): held;" in out
    assert "held with: keyTaxcodeID 'TX-EXPORT0' is not yet at the target's taxcodes" in out
    code, out = _cli(capsys, "why", "KT-1403 / DIST / EA", "--entity", "unit_prices")
    assert code == 0 and "squizz/price_level_unit_prices (KT-1403 / DIST / EA): held;" in out

    # Held back by the hub (its organization is missing), with the reason.
    code, out = _cli(capsys, "why", "C-2099/C-2099-BILL")
    assert code == 0 and "locations: locations.csv row 31: valid" in out
    assert "locations: HELD back since" in out and "no organizations record with key 'C-2099'" in out

    # Rejected by the target's own rules, with the full message; the same key, spelled with another separator.
    code, out = _cli(capsys, "why", "HW-2102 | TRADE | BOX100 | 200")
    assert code == 0
    assert "squizz/price_level_quantity_prices (HW-2102 / TRADE / BOX100 / 200): rejected;" in out
    assert "rejected with: price must be greater than 0 in SQUIZZ" in out
    code, out = _cli(capsys, "why", "C-1002")
    assert "joor_file/customer_sync_file (C-1002): rejected;" in out
    assert "rejected with: discount 7.5 is not a whole number of at most 3 digits" in out
    assert "joor/connections (C-1002): sent;" in out and "norce/companies (C-1002): sent;" in out


def test_why_an_unknown_key_exits_1_with_keys_that_start_like_it(synced, capsys):
    code, out = _cli(capsys, "why", "kt-140")
    assert code == 1
    assert "not in the export, the quarantine, the hub or any target's ledger" in out
    assert "did you mean: KT-1401" in out and "KT-1403" in out


def test_status_numbers_are_the_ledgers(synced, capsys):
    store = synced
    code, out = _cli(capsys, "status")
    assert code == 0
    rows = {tuple(cells[:2]): cells[2:] for cells in (
        [c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│"))}
    for target in TARGETS:
        for obj in target.objects:
            counts = store.ledger.counts(target.name, obj.name)
            shown = rows[(target.name, obj.name)][:5]  # sent, submitted, rejected, held, deleted
            assert [int(v.replace(",", "")) if v != "-" else 0 for v in shown] == [
                counts[s] for s in ("sent", "submitted", "rejected", "held", "deleted")], (target.name, obj.name)
    for entity, records in (("products", store.hub.count("products")), ("users", store.hub.count("users"))):
        assert rows[(entity, str(records))][1] == str(store.held.count(entity) or "-")
    assert "10 records are rejected or held at a target" in out  # 1 rejected + 7 held at SQUIZZ, 2 at JOOR's file


def _squizz_received(sandboxes) -> Counter:
    return Counter({int(k): v for k, v in sandboxes.squizz.stats()["records_by_type"].items()})


def test_retry_failed_resends_exactly_the_rejected_and_held_records(tmp_path):
    with start_sandboxes() as sandboxes:
        workspace = _workspace(tmp_path, sandboxes)
        admin = f"{sandboxes.base_url}/squizz/_admin/faults"
        requests.post(admin, json={"reject": [{"import_type_id": import_type("products").type_id, "key": "KT-1002",
                                               "code": "BAD_PRODUCT", "message": "refused for the retry test"}]},
                      timeout=5).raise_for_status()
        first = b2b_sync(workspace, "sync")
        assert first.returncode == FAILED_CHECKS, first.stdout[-3000:] + first.stderr[-3000:]
        store = Store(workspace["B2B_HUB_URL"])
        failed_before = {(spec.name, key): state for spec in IMPORT_TYPES for state in ("rejected", "held")
                         for key in store.ledger.keys_in_state("squizz", spec.name, state)}
        assert failed_before[("products", "KT-1002")] == "rejected"
        assert any(name == "price_level_unit_prices" and key.startswith("KT-1002") for name, key in failed_before)
        requests.post(admin, json={}, timeout=5).raise_for_status()  # SQUIZZ takes KT-1002 now
        received_before, tokens_before = _squizz_received(sandboxes), sandboxes.squizz.stats()["tokens_spent"]

        retry = b2b_sync(workspace, "retry-failed")
        assert retry.returncode == 0, retry.stdout[-3000:] + retry.stderr[-3000:]
        now_sent = Counter(import_type(name).type_id for (name, key) in failed_before
                           if key in set(store.ledger.keys_in_state("squizz", name, "sent")))
        received = _squizz_received(sandboxes) - received_before
        assert received == now_sent  # every record SQUIZZ received was a failed one that is now sent, once
        assert now_sent[import_type("products").type_id] == 1 and sum(now_sent.values()) > 3
        assert sandboxes.squizz.stats()["tokens_spent"] - tokens_before == sum(now_sent.values())
        assert "KT-1002: rejected -> sent" in retry.stdout
        assert "KT-1403: held -> held: keyTaxcodeID 'TX-EXPORT0' is not yet at the target's taxcodes" in retry.stdout

        # What is still failed cannot be sent (held for a missing tax code, refused by SQUIZZ's own limits): the
        # job launched as the UI launches it (its default config, every outbound asset) sends SQUIZZ nothing.
        tokens_after = sandboxes.squizz.stats()["tokens_spent"]
        job = dg.Definitions(assets=list(defs.assets), jobs=[retry_failed],
                             resources=sandbox_resources(workspace["B2B_HUB_URL"], sandboxes)
                             ).resolve_job_def("retry_failed")
        with dg.instance_for_test() as instance:
            assert job.execute_in_process(instance=instance).success
        assert sandboxes.squizz.stats()["tokens_spent"] == tokens_after
        assert _squizz_received(sandboxes) - received_before == now_sent
        store.dispose()


def test_a_retry_cannot_be_a_full_refresh_or_delete_what_it_leaves_out():
    with pytest.raises(ValueError, match="only_failed"):
        OutboundOptions(only_failed=True, full_refresh=True)
    with pytest.raises(ValueError, match="only_failed"):
        OutboundOptions(only_failed=True, deletions=DeletionPolicy(enabled=True))


def test_a_failed_run_names_each_failed_asset_in_one_line_without_a_traceback(tmp_path):
    with start_sandboxes() as sandboxes:
        run = b2b_sync({**_workspace(tmp_path, sandboxes), "SQUIZZ_API_PASSWORD": "not-the-password"}, "sync")
    out, both = run.stdout, run.stdout + run.stderr
    assert run.returncode == 1
    assert "Traceback" not in both and "Stack Trace" not in both and 'File "' not in both
    failed = re.findall(r"^  (squizz/\w+) +SquizzFatalError: SQUIZZ rejected the API credentials", out, re.M)
    assert "squizz/taxcodes" in failed and len(failed) == len(set(failed))
    assert re.search(r"Not run, because an asset they depend on failed \(\d+\): .*squizz/products", out)
    assert re.search(r"Details, stack traces included: run [0-9a-f-]{36} in the UI \(`make dev`", out)
    assert "not-the-password" not in both


def test_ping_checks_every_targets_credentials_without_sending_anything(tmp_path):
    with start_sandboxes() as sandboxes:
        workspace = _workspace(tmp_path, sandboxes)
        good = b2b_sync(workspace, "ping")
        bad = b2b_sync({**workspace, "SQUIZZ_API_PASSWORD": "not-the-password"}, "ping")
        stats = sandboxes.squizz.stats()
    assert good.returncode == 0, good.stdout + good.stderr
    assert [line.split("  ")[0] for line in good.stdout.splitlines()] == [t.title for t in TARGETS]
    assert all(re.search(r"\s ok \s", line) for line in good.stdout.splitlines()), good.stdout
    assert bad.returncode == 1
    squizz_line = next(line for line in bad.stdout.splitlines() if line.startswith("SQUIZZ "))
    assert "FAILED" in squizz_line and "SQUIZZ_API_PASSWORD" in squizz_line
    assert "not-the-password" not in bad.stdout + bad.stderr
    assert stats["imports"] == [] and stats["tokens_spent"] == 0  # sessions only: nothing imported, nothing spent
