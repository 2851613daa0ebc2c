"""The one Definitions object: every area's assets, checks, resources, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.ops.jobs import full_sync, inbox_sensor, nightly_full_sync
from b2b_assets.defs.resources import default_partner_api, default_store
from b2b_assets.defs.squizz.assets import squizz_assets
from b2b_assets.defs.squizz.resources import default_squizz

defs = dg.Definitions(
    assets=[*erp_assets, *hub_assets, *squizz_assets],
    jobs=[full_sync],
    schedules=[nightly_full_sync],
    sensors=[inbox_sensor],
    resources={"store": default_store(), "partner_api": default_partner_api(), "squizz": default_squizz()},
)
