"""The Customer Sync file on its own clock: at most hourly (JOOR picks files up at most once an hour), off by default."""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.targets.factory import object_key
from b2b_assets.targets.joor.file_target import CUSTOMER_SYNC_FILE, TARGET as JOOR_FILE

CUSTOMER_SYNC_FILE_KEY = object_key(JOOR_FILE, CUSTOMER_SYNC_FILE.name)

joor_customer_sync_file_job = dg.define_asset_job(
    "joor_customer_sync_file",
    selection=dg.AssetSelection.assets(CUSTOMER_SYNC_FILE_KEY).upstream(),
    description="Read the export, load the hub entities JOOR's customers come from, and drop the Customer Sync "
                "file with the customers that changed.",
)

# A file more often than JOOR's hourly pull would only queue up behind it.
joor_customer_sync_file_hourly = dg.ScheduleDefinition(
    name="joor_customer_sync_file_hourly", job=joor_customer_sync_file_job, cron_schedule="0 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
)
