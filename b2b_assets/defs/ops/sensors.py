"""Sensors that start syncs: a new export set in the inbox, and asynchronous jobs a target has not finished.

Both are off by default: turn them on in the UI (Automation) or with `dagster sensor start`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import dagster as dg

from b2b_assets import settings
from b2b_assets.defs.ops.exports import EXPORT_TAG, export_set
from b2b_assets.defs.ops.jobs import IN_FLIGHT, full_sync, settle_open_jobs
from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.sources.check import check_mapping
from b2b_assets.store.open_jobs import open_jobs
from b2b_assets.targets.registry import TARGETS


@dataclass
class InboxCursor:
    """What the inbox sensor remembers between evaluations (stored as JSON)."""

    requested: str = ""  # fingerprint of the export set the last run was requested for
    settling: str = ""  # fingerprint seen once, not yet confirmed by a second look

    @classmethod
    def load(cls, text: str | None) -> "InboxCursor":
        try:
            stored = json.loads(text or "{}")
        except json.JSONDecodeError:  # the plain-fingerprint cursor of earlier versions: look again
            return cls()
        return cls(**{k: v for k, v in stored.items() if k in ("requested", "settling")})

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dg.sensor(job=full_sync, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def inbox_sensor(context: dg.SensorEvaluationContext):
    """Start one full sync per new export set, once its files have stopped changing.

    A file still being written changes size or modification time between two
    evaluations (a minute apart), so a run is requested only when the set's
    fingerprint (name, size and mtime of every file the mapping reads, and of
    the mapping) is the same on two evaluations in a row. An export that
    pauses longer than that mid-write should be written under another name
    and renamed into place, which is atomic. The fingerprint is also the run
    key, so one export set never starts two runs.
    """
    exports = export_set()
    cursor = InboxCursor.load(context.cursor)
    if not exports.fingerprint:
        return dg.SkipReason("no export file in the inbox")
    if exports.fingerprint == cursor.requested:
        return dg.SkipReason("no new or changed export file since the last run request")
    if exports.fingerprint != cursor.settling:
        context.update_cursor(InboxCursor(cursor.requested, settling=exports.fingerprint).dump())
        return dg.SkipReason("new or changed export files; waiting one more evaluation for them to stop changing")
    context.update_cursor(InboxCursor(requested=exports.fingerprint).dump())
    checked = check_mapping(settings.mapping_path())  # once per export set: a bad mapping is one reason, not a failed run
    if not checked.ok:
        return dg.SkipReason(f"mapping has {len(checked.errors)} error(s); run `make check`: " + "; ".join(checked.errors))
    return dg.RunRequest(run_key=exports.fingerprint, tags={EXPORT_TAG: exports.fingerprint})


@dg.sensor(job=settle_open_jobs, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def open_jobs_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    """Settle asynchronous jobs between syncs: run only the outbound assets whose records wait in one.

    Records handed to a JOOR bulk job or a Norce import are `submitted` in the
    ledger until a poll says the job finished. Each outbound asset settles its
    open jobs first, so running just those assets turns the records `sent` (or
    `rejected` with the target's message) without waiting for the next sync.
    One settling run at a time; a job still open after it is looked at again
    five minutes later.
    """
    objects = {(t.name, o.name): object_key(t, o.name) for t in TARGETS for o in t.objects}
    waiting = [jobs for jobs in open_jobs(store.get().engine) if (jobs.target, jobs.entity) in objects]
    if not waiting:
        return dg.SkipReason("no records wait in an unfinished asynchronous job")
    busy = context.instance.get_runs(filters=dg.RunsFilter(job_name=settle_open_jobs.name, statuses=list(IN_FLIGHT)),
                                     limit=1)
    if busy:
        return dg.SkipReason(f"run {busy[0].run_id} is already settling open jobs")
    context.log.info("open jobs: " + ", ".join(f"{j.target}/{j.entity}: {j.records} records in {j.jobs} job(s)"
                                               for j in waiting))
    return dg.RunRequest(asset_selection=[objects[(j.target, j.entity)] for j in waiting])
