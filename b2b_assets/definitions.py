"""The one Definitions object: every area's assets, checks, resources, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.health.assets import build_sync_health_asset
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.joor.schedules import joor_customer_sync_file_hourly, joor_customer_sync_file_job
from b2b_assets.defs.ops.failures import retry_failed_runs, run_failure_alert
from b2b_assets.defs.ops.jobs import full_sync, settle_open_jobs, stock_and_prices
from b2b_assets.defs.ops.plan import build_plan_job
from b2b_assets.defs.ops.retry import retry_failed
from b2b_assets.defs.ops.schedules import nightly_full_sync, stock_and_prices_quarter_hourly
from b2b_assets.defs.ops.sensors import inbox_sensor, open_jobs_sensor
from b2b_assets.defs.ops.retention import purge_old_runs, purge_old_runs_daily
from b2b_assets.defs.resources import default_partner_api, default_store
from b2b_assets.defs.targets.factory import build_target_assets
from b2b_assets.targets.registry import TARGETS

assets = [*erp_assets, *hub_assets, *(a for t in TARGETS for a in build_target_assets(t))]
defs = dg.Definitions(
    assets=[*assets, build_sync_health_asset(TARGETS)],
    jobs=[full_sync, stock_and_prices, settle_open_jobs, joor_customer_sync_file_job, retry_failed,
          build_plan_job(assets), purge_old_runs],
    schedules=[nightly_full_sync, stock_and_prices_quarter_hourly, joor_customer_sync_file_hourly,
               purge_old_runs_daily],
    sensors=[inbox_sensor, open_jobs_sensor, run_failure_alert, retry_failed_runs],
    resources={"store": default_store(), "partner_api": default_partner_api(),
               **{t.resource_key: t.default_resource() for t in TARGETS}},
    # Every job (full_sync, "Materialize all", schedules) runs its steps one after another in the run's own
    # process, as `b2b-sync sync` does: a process per step re-imported the project for each of ~60 short
    # steps, which made a UI launch 7x slower than `make sync` on 2 cores (README, "UI launch speed").
    executor=dg.in_process_executor,
)
