"""The named jobs schedules and sensors start: the full sync, the light stock-and-prices sync, job settling."""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.erp.assets import erp_key
from b2b_assets.defs.hub.assets import hub_key
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.targets.registry import TARGETS

SYNC_TAG = "b2b_assets/sync"
# A run in one of these states has yet to finish: a schedule or sensor does not start the same work beside it.
IN_FLIGHT = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED)

# What changes during the day: stock on hand and prices. SQUIZZ's seed recommends its lightweight stock
# quantities import (type 10) for frequent updates, over resending products.
LIGHT_ENTITIES = ("stock_levels", "unit_prices", "quantity_prices", "customer_prices")


def _light_objects() -> list[dg.AssetKey]:
    """Target objects whose primary source is a light entity (SQUIZZ locations nest stock in sites: not light)."""
    return [object_key(t, o.name) for t in TARGETS for o in t.objects if o.source_entities[0] in LIGHT_ENTITIES]


full_sync = dg.define_asset_job(
    "full_sync",
    selection=dg.AssetSelection.all(),
    description="Read the export, load the hub, push every target: the full, ordered, idempotent sync.",
    # dagster.yaml's run queue admits one run with this tag at a time.
    tags={SYNC_TAG: "full_sync"},
)

stock_and_prices = dg.define_asset_job(
    "stock_and_prices",
    selection=dg.AssetSelection.assets(*(erp_key(e) for e in LIGHT_ENTITIES), *(hub_key(e) for e in LIGHT_ENTITIES),
                                       *_light_objects()),
    description="The light sync: read the stock and price exports, load them into the hub and send what changed "
                "(SQUIZZ stock quantities and prices). Products, customers and the rest are the full sync's.",
    tags={SYNC_TAG: "stock_and_prices"},
)

settle_open_jobs = dg.define_asset_job(
    "settle_open_jobs",
    selection=dg.AssetSelection.assets(*(object_key(t, o.name) for t in TARGETS for o in t.objects)),
    description="Outbound assets only (no export read, no hub load): each first settles the asynchronous jobs "
                "the target has not finished. The open-jobs sensor runs the objects that have some.",
    tags={SYNC_TAG: "settle_open_jobs"},
)
