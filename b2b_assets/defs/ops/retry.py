"""Job `retry_failed`: resend only the records the sync ledger holds as rejected or held.

Launched from the UI (Jobs > retry_failed > Launchpad) it runs every outbound
asset with `only_failed: true`: each plans only its own rejected and held
records (`pipeline/outbound.py: only_failed`), so an asset with none sends
nothing; it reads the hub as it is and loads no export. `b2b-sync retry-failed`
runs the same job on just the assets the ledger has failed records for.
"""

from __future__ import annotations

import dagster as dg

from b2b_assets.defs.ops.jobs import SYNC_TAG
from b2b_assets.defs.targets.factory import object_key, op_name
from b2b_assets.targets.registry import TARGETS

OUTBOUND = [object_key(t, o.name) for t in TARGETS for o in t.objects]
ONLY_FAILED = {"config": {"only_failed": True}}


def only_failed_config(targets=TARGETS, selected=None) -> dict:  # noqa: ANN001 - targets and asset keys
    """Run config asking each (selected) outbound asset to send only its rejected and held records."""
    return {"ops": {op_name(t, o): ONLY_FAILED for t in targets for o in t.objects
                    if selected is None or object_key(t, o.name) in selected}}


retry_failed = dg.define_asset_job(
    "retry_failed",
    selection=dg.AssetSelection.assets(*OUTBOUND),
    config=only_failed_config(),
    description="Resend only the records the sync ledger holds as rejected or held, from the hub as it is.",
    tags={SYNC_TAG: "retry_failed"},  # queued behind (and never beside) a sync that writes the same ledger
)
