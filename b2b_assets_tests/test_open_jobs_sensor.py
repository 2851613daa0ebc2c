"""The open-jobs sensor runs only the outbound assets whose records wait in an unfinished asynchronous job."""

from __future__ import annotations


import dagster as dg
import pandas as pd

from b2b_assets.definitions import defs
from b2b_assets.defs.joor.resources import JoorResource
from b2b_assets.defs.ops.jobs import settle_open_jobs
from b2b_assets.defs.ops.sensors import open_jobs_sensor
from b2b_assets.defs.resources import StoreResource
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store



def submitted(keys: list[str], job_id: str, state: str = "submitted") -> pd.DataFrame:
    return pd.DataFrame({"record_key": keys, "payload_hash": range(1, len(keys) + 1), "state": state,
                         "job_id": job_id if state == "submitted" else None})


def evaluate(instance, url: str):
    return open_jobs_sensor(dg.build_sensor_context(instance=instance, resources={"store": StoreResource(url=url)}))


def test_open_jobs_start_a_run_of_only_their_objects_and_settled_ones_do_not(tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    store = Store(url)
    store.create_all()
    store.ledger.record("squizz", "products", submitted(["P-1"], "", state="sent"))
    with dg.instance_for_test() as instance:
        nothing = evaluate(instance, url)
        assert isinstance(nothing, dg.SkipReason) and "no records wait" in nothing.skip_message

        store.ledger.record("joor", "connections", submitted(["C-1", "C-2"], "job-7"))
        store.ledger.record("norce", "companies", submitted(["C-1"], "job-8"))
        store.ledger.record("norce", "customers", submitted(["U-1"], "", state="sent"))
        request = evaluate(instance, url)
        assert isinstance(request, dg.RunRequest)
        assert request.asset_selection == [dg.AssetKey(["joor", "connections"]), dg.AssetKey(["norce", "companies"])]

        # While that run is queued or settling, the sensor does not pile another one behind it.
        instance.add_run(dg.DagsterRun(job_name="settle_open_jobs", status=dg.DagsterRunStatus.STARTED))
        busy = evaluate(instance, url)
        assert isinstance(busy, dg.SkipReason) and "already settling" in busy.skip_message

    # The jobs finish: their records are `sent`, and nothing is left to settle.
    store.ledger.record("joor", "connections", submitted(["C-1", "C-2"], "", state="sent"))
    store.ledger.record("norce", "companies", submitted(["C-1"], "", state="sent"))
    with dg.instance_for_test() as instance:
        assert isinstance(evaluate(instance, url), dg.SkipReason)
    assert store.ledger.counts("joor", "connections")["submitted"] == 0
    store.dispose()


def test_a_job_joor_has_not_finished_is_settled_by_the_run_the_sensor_requests(sample_export, tmp_path, monkeypatch):
    """A real JOOR bulk job left open by a sync is settled by the settling run, without a sync."""
    monkeypatch.setenv("B2B_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("B2B_REPORTS_DIR", str(tmp_path / "reports"))
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    connections = dg.AssetKey(["joor", "connections"])
    with start_sandboxes(joor_hold_started=True) as sandboxes, dg.instance_for_test() as instance:
        resources = {**defs.resources, "store": StoreResource(url=url),
                     "joor": JoorResource(base_url=f"{sandboxes.base_url}/joor", token="sandbox-token",
                                          poll_interval_seconds=0.05, backoff_factor=0.05)}
        sync = dg.define_asset_job("sync_joor", selection=dg.AssetSelection.assets(connections).upstream())
        wired = dg.Definitions(assets=list(defs.assets), jobs=[sync, settle_open_jobs], resources=resources)
        first = wired.resolve_job_def("sync_joor").execute_in_process(instance=instance, run_config={
            "ops": {"joor__connections": {"config": {"poll_budget_seconds": 0}}}})
        assert first.success
        ledger = Store(url).ledger
        assert ledger.counts("joor", "connections")["submitted"] == 25 and not sandboxes.joor.connections()

        request = evaluate(instance, url)
        assert isinstance(request, dg.RunRequest) and request.asset_selection == [connections]
        sandboxes.joor.configure(hold_started=False)  # JOOR gets round to the job
        settled = wired.resolve_job_def("settle_open_jobs").execute_in_process(
            instance=instance, asset_selection=request.asset_selection)
        assert settled.success
        assert [e.asset_key for e in settled.get_asset_materialization_events()] == [connections]
        assert ledger.counts("joor", "connections")["sent"] == 25 == len(sandboxes.joor.connections())
        assert isinstance(evaluate(instance, url), dg.SkipReason)
