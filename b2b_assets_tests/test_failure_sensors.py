"""A failed run raises an alert (log line, optional webhook) and is retried from failure after a backoff, boundedly.

The failed run is real: the `full_sync` job over the SQUIZZ tax codes, against
the SQUIZZ sandbox with a wrong API password; the retry runs with the right one.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from b2b_assets.definitions import defs
from b2b_assets.defs.ops.failures import ATTEMPT_TAG, RETRY_OF_TAG, retry_failed_runs, run_failure_alert
from b2b_assets.defs.ops.jobs import full_sync
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.sandbox.serve import start_sandboxes

TAXCODES = [dg.AssetKey(["erp", "taxcodes"]), dg.AssetKey(["hub", "taxcodes"]), dg.AssetKey(["squizz", "taxcodes"])]
FAILED = [dg.AssetKey(["squizz", "taxcodes"])]


@pytest.fixture
def setting(sample_export, tmp_path, monkeypatch):
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("B2B_ALERT_WEBHOOK_URL", raising=False)
    with start_sandboxes() as sandboxes, dg.instance_for_test() as instance:
        yield sandboxes, instance, f"sqlite:///{tmp_path}/hub.sqlite"


def sync_job(sandboxes, hub_url: str, password: str) -> dg.JobDefinition:
    """The real `full_sync` job, with resources pointed at this test's store and sandboxes."""
    resources = {**defs.resources, "store": StoreResource(url=hub_url),
                 "partner_api": PartnerApiResource(base_url=f"{sandboxes.base_url}/partner"),
                 "squizz": SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org",
                                          api_key="sandbox-key", api_password=password, backoff_factor=0.05)}
    return dg.Definitions(assets=list(defs.assets), jobs=[full_sync], resources=resources).resolve_job_def("full_sync")


def failed_run(sandboxes, instance, hub_url: str, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    result = sync_job(sandboxes, hub_url, "wrong-password").execute_in_process(
        instance=instance, asset_selection=TAXCODES, raise_on_error=False, tags=tags)
    assert not result.success
    return result


class Webhook:
    """A real HTTP server on 127.0.0.1 that keeps what is POSTed to it and answers `status`."""

    def __init__(self, status: int = 204):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def alert(instance, result: dg.ExecuteInProcessResult) -> None:
    run_failure_alert(dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=result.dagster_run).for_run_failure())


def test_a_failed_run_alerts_with_its_failed_assets_and_errors_on_the_webhook(setting, monkeypatch, capfd):
    sandboxes, instance, hub_url = setting
    result = failed_run(sandboxes, instance, hub_url)
    hook = Webhook()
    monkeypatch.setenv("B2B_ALERT_WEBHOOK_URL", hook.url)
    capfd.readouterr()
    try:
        alert(instance, result)
    finally:
        hook.close()
    [body] = hook.received
    assert body["run_id"] == result.run_id and body["job"] == "full_sync"
    assert body["failed_assets"] == ["squizz/taxcodes"]  # erp/ and hub/taxcodes materialized
    assert len(body["errors"]) == 1 and body["errors"][0].startswith("squizz__taxcodes: ")
    assert "INCORRECT_API_CREDENTIALS" in body["errors"][0] and "\n" not in body["errors"][0]
    assert body["attempt"] == 1 and body["next"] == "retry 2 of 3 in 300 s"
    assert "wrong-password" not in json.dumps(body)
    logged = [line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]
    assert any(result.run_id in m and "squizz/taxcodes" in m and "retry 2 of 3" in m for m in logged)


def test_a_webhook_that_fails_or_is_down_never_breaks_the_alert(setting, monkeypatch, capfd):
    sandboxes, instance, hub_url = setting
    result = failed_run(sandboxes, instance, hub_url)
    refusing = Webhook(status=500)
    monkeypatch.setenv("B2B_ALERT_WEBHOOK_URL", refusing.url)
    capfd.readouterr()
    alert(instance, result)  # answered 500: logged, not raised
    refusing.close()
    alert(instance, result)  # nothing listens any more: logged, not raised
    logged = capfd.readouterr().err
    warnings = [line for line in logged.splitlines() if " - WARNING - " in line and "webhook" in line]
    assert len(warnings) == 2 and "HTTP 500" in warnings[0] and "ConnectionError" in warnings[1]
    assert "secret-token" not in logged  # the URL is a secret
    assert len(refusing.received) == 1


def evaluate(instance, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = retry_failed_runs(context)
    return result, result.cursor


def test_only_what_failed_is_retried_after_the_backoff_once_per_failure(setting, monkeypatch):
    sandboxes, instance, hub_url = setting
    monkeypatch.setenv("B2B_RETRY_BACKOFF_SECONDS", "3600")
    result = failed_run(sandboxes, instance, hub_url)
    waiting, cursor = evaluate(instance, None)
    assert not waiting.run_requests and "1 retry(ies) waiting for their backoff" in waiting.skip_reason.skip_message
    assert result.run_id in json.loads(cursor)["due"]

    # An hour later: the due time the cursor holds has passed.
    cursor = json.dumps({**json.loads(cursor), "due": {result.run_id: 0}})
    retry, cursor = evaluate(instance, cursor)
    [request] = retry.run_requests
    assert request.job_name == "full_sync" and request.asset_selection == FAILED  # not erp/ or hub/taxcodes again
    assert request.tags == {ATTEMPT_TAG: "2", RETRY_OF_TAG: result.run_id}
    assert not evaluate(instance, cursor)[0].run_requests  # the same failure is not retried twice

    # The retry, as the daemon launches it, with the password fixed: SQUIZZ gets its tax codes.
    retried = sync_job(sandboxes, hub_url, "sandbox-password").execute_in_process(
        instance=instance, asset_selection=request.asset_selection, tags=request.tags,
        run_config=request.run_config)
    assert retried.success
    assert [e.asset_key for e in retried.get_asset_materialization_events()] == FAILED
    assert sandboxes.squizz.records(1)
    assert not evaluate(instance, cursor)[0].run_requests


def test_a_failure_someone_re_executed_by_hand_is_not_retried_again(setting, monkeypatch):
    sandboxes, instance, hub_url = setting
    monkeypatch.setenv("B2B_RETRY_BACKOFF_SECONDS", "0")
    result = failed_run(sandboxes, instance, hub_url)
    # "Re-execute from failure" in the UI: Dagster tags the new run with its parent.
    instance.add_run(dg.DagsterRun(job_name="full_sync", status=dg.DagsterRunStatus.STARTED,
                                   tags={"dagster/parent_run_id": result.run_id}))
    assert not evaluate(instance, None)[0].run_requests


def test_retries_stop_at_the_attempt_limit(setting, monkeypatch):
    sandboxes, instance, hub_url = setting
    monkeypatch.setenv("B2B_RETRY_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("B2B_RETRY_MAX_ATTEMPTS", "2")
    first = failed_run(sandboxes, instance, hub_url)
    result, cursor = evaluate(instance, None)
    [request] = result.run_requests
    second = failed_run(sandboxes, instance, hub_url, tags=request.tags)  # the retry fails too
    result, _ = evaluate(instance, cursor)
    assert not result.run_requests  # attempt 2 of 2: no third run
    hook = Webhook()
    monkeypatch.setenv("B2B_ALERT_WEBHOOK_URL", hook.url)
    try:
        alert(instance, second)
    finally:
        hook.close()
    assert hook.received[0]["next"] == "no retry left (attempt 2 of 2)"
    assert first.run_id != second.run_id
