"""The full sync job, its schedule, and a sensor that starts it when a new export lands."""

from __future__ import annotations

import dagster as dg

from b2b_assets import settings
from b2b_assets.sources.mapping import load_mapping_leniently
from b2b_assets.sources.check import check_mapping

SYNC_TAG = "b2b_assets/sync"

full_sync = dg.define_asset_job(
    "full_sync",
    selection=dg.AssetSelection.all(),
    description="Read the export, load the hub, push every target: the full, ordered, idempotent sync.",
    # dagster.yaml's run queue admits one run with this tag at a time.
    tags={SYNC_TAG: "full_sync"},
)

nightly_full_sync = dg.ScheduleDefinition(
    name="nightly_full_sync", job=full_sync, cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(job=full_sync, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def inbox_sensor(context: dg.SensorEvaluationContext):
    """Start a full sync when any export file in the inbox is new or changed since the last request."""
    mapping, _ = load_mapping_leniently(settings.mapping_path())
    inputs = {f for s in (mapping.sources.values() if mapping else ()) for f in s.input_files if f.exists()}
    files = sorted(inputs | {settings.mapping_path()}) if inputs else []
    fingerprint = ",".join(f"{f.name}:{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in files)
    if not files or fingerprint == context.cursor:
        return dg.SkipReason("no new or changed export file in the inbox")
    context.update_cursor(fingerprint)
    checked = check_mapping(settings.mapping_path())  # once per change: a bad mapping is one reason, not a failed run
    if not checked.ok:
        return dg.SkipReason(f"mapping has {len(checked.errors)} error(s); run `make check`: " + "; ".join(checked.errors))
    return dg.RunRequest(run_key=fingerprint)
