"""Run retention: the purge job deletes finished runs with their event logs, and nothing newer."""

from __future__ import annotations

import dagster as dg

from b2b_assets.definitions import defs


@dg.asset
def something() -> int:
    return 1


def test_purge_deletes_finished_runs_and_their_event_logs_older_than_the_period():
    purge = defs.resolve_job_def("purge_old_runs")
    with dg.instance_for_test() as instance:
        old = dg.materialize([something], instance=instance)
        assert instance.fetch_materializations(something.key, limit=10).records
        kept = purge.execute_in_process(instance=instance)  # the default 90 days: the run is recent, it stays
        assert instance.get_run_by_id(old.run_id) is not None
        assert kept.output_for_node("delete_old_runs") == 0

        purged = purge.execute_in_process(
            instance=instance, run_config={"ops": {"delete_old_runs": {"config": {"older_than_days": 0}}}})

        assert purged.output_for_node("delete_old_runs") == 2  # the first run and the first purge
        assert instance.get_run_by_id(old.run_id) is None
        assert instance.get_run_by_id(kept.run_id) is None
        assert not instance.all_logs(old.run_id)
        assert not instance.fetch_materializations(something.key, limit=10).records
        assert instance.get_run_by_id(purged.run_id) is not None  # a run never deletes itself


def test_the_purge_runs_daily_by_default():
    schedule = defs.resolve_schedule_def("purge_old_runs_daily")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "purge_old_runs"
