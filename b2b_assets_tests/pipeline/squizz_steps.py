"""One SQUIZZ import type synced through the generic outbound stage, as the squizz/* assets do."""

from __future__ import annotations

from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.store import Store
from b2b_assets.targets.core.sync import SyncReport
from b2b_assets.targets.squizz.client import SquizzClient
from b2b_assets.targets.squizz.import_types import ImportType
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender


def sync_import_type(store: Store, client: SquizzClient, spec: ImportType,
                     options: OutboundOptions = OutboundOptions()) -> SyncReport:
    return sync_object(store, SQUIZZ, SQUIZZ.object(spec.name), SquizzSender(client), options)
