"""Schedules: named jobs, explicit time zones, the light sync's scope, and the JOOR file only when its export changed."""

from __future__ import annotations

import importlib
import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from b2b_assets.definitions import defs
from b2b_assets.defs.joor import schedules as joor_schedules
from b2b_assets.defs.ops import schedules

AT = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_every_schedule_and_sensor_runs_a_named_job_and_schedules_an_explicit_time_zone():
    for schedule in defs.schedules:
        assert schedule.execution_timezone == "UTC", schedule.name
        assert not defs.resolve_job_def(schedule.job_name).name.startswith("__"), schedule.name
    for sensor in defs.sensors:
        assert all(not target.job_name.startswith("__") for target in sensor.targets), sensor.name
    nightly = {s.name: s for s in defs.schedules}["nightly_full_sync"]
    assert nightly.cron_schedule == "0 2 * * *"
    [request] = nightly.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=AT)).run_requests
    assert isinstance(request, dg.RunRequest)
    names = {s.name: s for s in defs.schedules}
    assert names["nightly_full_sync"].job_name == "full_sync"
    assert names["stock_and_prices_quarter_hourly"].job_name == "stock_and_prices"
    assert names["joor_customer_sync_file_hourly"].job_name == "joor_customer_sync_file"


def test_the_time_zone_comes_from_the_environment_and_a_wrong_one_is_refused(monkeypatch):
    monkeypatch.setenv("B2B_SCHEDULE_TIMEZONE", "Europe/Amsterdam")
    try:
        assert importlib.reload(schedules).nightly_full_sync.execution_timezone == "Europe/Amsterdam"
        assert importlib.reload(joor_schedules).joor_customer_sync_file_hourly.execution_timezone == "Europe/Amsterdam"
        monkeypatch.setenv("B2B_SCHEDULE_TIMEZONE", "Mars/Olympus")
        with pytest.raises(ValueError, match="B2B_SCHEDULE_TIMEZONE='Mars/Olympus' is not an IANA time zone"):
            importlib.reload(schedules)
    finally:
        monkeypatch.delenv("B2B_SCHEDULE_TIMEZONE")
        importlib.reload(schedules)
        importlib.reload(joor_schedules)


def test_the_light_sync_reads_stock_and_prices_only_and_sends_squizz_stock_quantities():
    job = defs.resolve_job_def("stock_and_prices")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert keys == {
        "erp/stock_levels", "erp/unit_prices", "erp/quantity_prices", "erp/customer_prices",
        "hub/stock_levels", "hub/unit_prices", "hub/quantity_prices", "hub/customer_prices",
        "squizz/stock_quantities", "squizz/price_level_unit_prices", "squizz/price_level_quantity_prices",
        "squizz/customer_account_prices"}
    schedule = {s.name: s for s in defs.schedules}["stock_and_prices_quarter_hourly"]
    context = dg.build_schedule_context(scheduled_execution_time=AT)
    assert isinstance(schedule.evaluate_tick(context).run_requests[0], dg.RunRequest)
    # From Saturday 06:00: 52 quarter hours 07:00-19:45, then nothing until Monday 07:00 (Sunday is off).
    ticks = cron_string_iterator(datetime(2026, 12, 5, 6, 0, tzinfo=timezone.utc).timestamp(),
                                 schedule.cron_schedule, schedule.execution_timezone)
    times = [t for t, _ in zip(ticks, range(53))]
    assert times[0] == datetime(2026, 12, 5, 7, 0, tzinfo=timezone.utc)
    assert times[51] == datetime(2026, 12, 5, 19, 45, tzinfo=timezone.utc)
    assert times[52] == datetime(2026, 12, 7, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def export(sample_export) -> Path:
    return sample_export


def joor_tick(instance):
    return joor_schedules.joor_customer_sync_file_hourly(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=AT))


def _ran(instance, request: dg.RunRequest, status: dg.DagsterRunStatus) -> None:
    """A run of the JOOR file job that took this request's export files, as the daemon would have launched."""
    instance.add_run(dg.DagsterRun(job_name="joor_customer_sync_file", status=status, tags=request.tags))


def test_the_joor_file_is_dropped_only_when_its_export_exists_and_changed(export):
    customers = export / "customers.txt"
    kept = customers.read_bytes()
    customers.unlink()
    with dg.instance_for_test() as instance:
        absent = joor_tick(instance)
        assert isinstance(absent, dg.SkipReason) and "customers.txt" in absent.skip_message

        customers.write_bytes(kept)
        first = joor_tick(instance)
        assert isinstance(first, dg.RunRequest)
        _ran(instance, first, dg.DagsterRunStatus.STARTED)
        running = joor_tick(instance)  # the next hour, while that run still runs: not another
        assert isinstance(running, dg.SkipReason) and "have not changed" in running.skip_message

        (export / "products.jsonl").write_text("")  # products are no input of JOOR's customers
        assert isinstance(joor_tick(instance), dg.SkipReason)

        stat = customers.stat()
        os.utime(customers, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        changed = joor_tick(instance)
        assert isinstance(changed, dg.RunRequest) and changed.tags != first.tags
        _ran(instance, changed, dg.DagsterRunStatus.FAILURE)
        retried = joor_tick(instance)  # the run for those files failed: the next hour tries again
        assert isinstance(retried, dg.RunRequest) and retried.tags == changed.tags
        _ran(instance, retried, dg.DagsterRunStatus.SUCCESS)
        assert isinstance(joor_tick(instance), dg.SkipReason)
