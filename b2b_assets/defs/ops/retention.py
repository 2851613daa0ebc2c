"""Run and event-log retention: a daily job that deletes finished runs older than the retention period.

Dagster keeps every run's event log for ever, and has no retention setting for it (dagster.yaml's
`retention:` covers schedule and sensor ticks only). `DagsterInstance.delete_run` removes a run
with all its events, materializations and check results included, so the asset plots and the
catalog keep the last `older_than_days` days. The sync ledger and the hub keep their own state;
nothing in a sync depends on Dagster's history.
"""

from datetime import datetime, timedelta, timezone

import dagster as dg

RETENTION_DAYS = 90
BATCH = 500  # runs looked up per query, so that a first purge of a long history does not load it all


class RetentionConfig(dg.Config):
    older_than_days: int = RETENTION_DAYS


@dg.op
def delete_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> int:
    """Delete every finished run last updated more than `older_than_days` ago, with its event log."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=config.older_than_days)
    finished = dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                       dg.DagsterRunStatus.CANCELED], updated_before=cutoff)
    deleted = 0
    while records := context.instance.get_run_records(filters=finished, limit=BATCH):
        for record in records:
            context.instance.delete_run(record.dagster_run.run_id)
        deleted += len(records)
    context.log.info(f"deleted {deleted} runs (and their event logs) last updated before {cutoff:%Y-%m-%d %H:%M} UTC")
    return deleted


@dg.job(description="Delete finished runs, with their event logs, older than the retention period (90 days).")
def purge_old_runs():
    delete_old_runs()


purge_old_runs_daily = dg.ScheduleDefinition(
    name="purge_old_runs_daily", job=purge_old_runs, cron_schedule="30 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
