"""Progress people can see: per-batch lines and HTTP retries in the run's log, and the CLI's progress bar."""

from __future__ import annotations

import io
import logging

import dagster as dg
from dagster._serdes import serialize_value

from b2b_assets.cli_progress import progress_bars
from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.defs.targets.progress import BatchProgress
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets_tests.test_full_sync import run_sync, sandboxes, workspace  # noqa: F401

SECRETS = ("sandbox-key", "sandbox-password")


def test_the_run_log_shows_each_batch_and_each_retry_without_a_secret(workspace, sandboxes, tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    taxcodes = [a for a in build_target_assets(SQUIZZ) if a.key == dg.AssetKey(["squizz", "taxcodes"])]
    with dg.instance_for_test() as instance:
        assert run_sync(url, sandboxes, instance, [*erp_assets, *hub_assets]).success
        sandboxes.squizz.set_faults({"sequence": ["503", "ok", "429"], "apply_to": ["import_esd"],
                                     "retry_after_seconds": 0})
        bars = io.StringIO()
        with progress_bars(bars, enabled=True):
            result = dg.materialize(
                taxcodes, instance=instance, raise_on_error=False,
                run_config={"ops": {"squizz__taxcodes": {"config": {"batch_size": 4}}}},
                resources={"store": StoreResource(url=url),
                           "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                                    api_key=SECRETS[0], api_password=SECRETS[1], backoff_factor=0.01)})
        assert result.success
        records = instance.all_logs(result.run_id)
        messages = [r.user_message for r in records if not r.dagster_event]
        event_log = "\n".join(serialize_value(r) for r in records)
    assert "squizz/taxcodes: sending 10 records" in messages
    assert any(m.startswith("squizz/taxcodes: 10 of 10 records (100%), ") and "records/s" in m for m in messages)
    retries = [m for m in messages if "/import_esd/*** answered" in m]
    assert len(retries) == 2 and "answered 503; attempt 1 failed" in retries[0]
    assert "answered 429; attempt 1 failed" in retries[1]
    assert all(secret not in event_log for secret in SECRETS)
    # The CLI's bar followed the same batches to the end.
    assert "squizz/taxcodes: 100%" in bars.getvalue() and "10/10" in bars.getvalue()


def test_the_cli_bar_draws_nothing_into_a_pipe_and_never_fails_the_sync():
    """tqdm decides by the stream: a StringIO is no terminal, so CI logs and test output stay clean."""
    piped = io.StringIO()
    with progress_bars(piped):
        for asset in ("squizz/products", "squizz/prices"):
            progress = BatchProgress(logging.getLogger("test"), asset)
            for sent in (0, 5, 10):
                progress({"sent": sent, "rejected": 0, "submitted": 0, "to_send": 10})
    assert piped.getvalue() == "" and progress.confirmed["sent"] == 10
