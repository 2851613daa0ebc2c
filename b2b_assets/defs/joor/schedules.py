"""The Customer Sync file on its own clock: at most hourly, and only when its export has changed. Off by default.

JOOR picks files up at most once an hour, so a file more often would only queue
up behind it. Each hour the schedule looks at the export files JOOR's customers
come from (organizations, users, locations and what they reference): no
organizations export there yet, or the same files a successful or running run
already took, and it skips, saying why. Entities read from the partner API have no file to look at, so
with one of those in the mapping it runs every hour (the pull is incremental).
"""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.ops.exports import EXPORT_TAG, export_set, with_parents
from b2b_assets.defs.ops.jobs import IN_FLIGHT, SYNC_TAG
from b2b_assets.defs.ops.schedules import schedule_timezone
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.targets.joor.file_target import CUSTOMER_SYNC_FILE, TARGET as JOOR_FILE

CUSTOMER_SYNC_FILE_KEY = object_key(JOOR_FILE, CUSTOMER_SYNC_FILE.name)

joor_customer_sync_file_job = dg.define_asset_job(
    "joor_customer_sync_file",
    selection=dg.AssetSelection.assets(CUSTOMER_SYNC_FILE_KEY).upstream(),
    description="Read the export, load the hub entities JOOR's customers come from, and drop the Customer Sync "
                "file with the customers that changed.",
    tags={SYNC_TAG: "joor_customer_sync_file"},
)


def _run_that_took(instance: dg.DagsterInstance, fingerprint: str) -> dg.DagsterRun | None:
    """The latest run of the job that read these export files and succeeded, or is still queued or running."""
    runs = instance.get_runs(filters=dg.RunsFilter(
        job_name=joor_customer_sync_file_job.name, statuses=[dg.DagsterRunStatus.SUCCESS, *IN_FLIGHT],
        tags={EXPORT_TAG: fingerprint}), limit=1)
    return runs[0] if runs else None


@dg.schedule(name="joor_customer_sync_file_hourly", job=joor_customer_sync_file_job, cron_schedule="0 * * * *",
             execution_timezone=schedule_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED)
def joor_customer_sync_file_hourly(context: dg.ScheduleEvaluationContext):
    """Drop the Customer Sync file hourly, when the customers' export files exist and have changed."""
    accounts = export_set(CUSTOMER_SYNC_FILE.source_entities[:1])  # JOOR's customers are the organizations
    if not accounts.fingerprint and not accounts.unwatched:
        expected = ", ".join(f.name for f in accounts.missing) or "none named in the mapping"
        return dg.SkipReason(f"no export of {CUSTOMER_SYNC_FILE.source_entities[0]} yet (expected: {expected})")
    exports = export_set(with_parents(CUSTOMER_SYNC_FILE.source_entities))
    if not exports.unwatched:
        earlier = _run_that_took(context.instance, exports.fingerprint)
        if earlier is not None:
            return dg.SkipReason(f"the customers' export files have not changed since run {earlier.run_id} "
                                 f"({earlier.status.value})")
    return dg.RunRequest(tags={EXPORT_TAG: exports.fingerprint})
