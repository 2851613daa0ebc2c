"""Skipping the plan of an outbound object whose inputs did not move since its last complete sync.

A plan reads, maps, hashes and diffs every record of the object to find what changed; when nothing it
depends on moved, that answer is known before reading a record. After each complete sync (not a dry
run, not a retry of the failed records; a failed sync leaves no mark) the object's mark records:

- the hub version (store/versions.py) of each of its `source_entities`: moved by any load that
  inserted, updated or flipped the presence of a row;
- for each object it references, that object's `left_sent` ledger counter (store/ledger_versions.py):
  moved by every ledger write that gives one of its `sent` records another state, and by every purge;
- a fingerprint of what shapes the payload: the package version, the source of the mappings, hashing
  and planning code (targets/, model/, store/hashing.py), the settings a mapping reads, and the
  object's identity (target, name, mapping, limits, references);
- its own ledger `version` counter as the sync left it (moved by every write and purge of its
  ledger), whether the sync left records that wait, the counts it reports again, and the keys of the
  confirmed records it found gone from the source (up to `GONE_KEYS_KEPT`; for the changed-rows plan,
  pipeline/outbound_changed.py).

The next plain sync skips the plan when all of that is the same now, its counters exist (a store from
before them, or an object no writer touched since, is unknown and planned), and the sync left nothing
that waits: no held, rejected or submitted record, no nested row held back, and, when deletions are on,
no record gone from the source. Anything else re-plans as before. Checking is a few one-row reads.

Why a referenced object's `left_sent` is enough. The plan reads a referenced object's ledger only for
its set of `sent` keys: a record, or nested row, whose reference is not in it is held, every other is
planned on its own hash. So the referenced ledger can change this object's plan only through that set.
Keys joining it can release only records that are held, and an object with held records or nested
rows held back re-plans anyway; a resend of a referenced record with a new hash leaves it `sent` and
changes nothing here. Keys leaving it (refused on resend, submitted to a job again, deleted, purged)
hold records this object had sent: every such write finds a `sent` row it gives another state, or is
a purge, and moves `left_sent` (records held or refused again, as they are every run, do not). Equal
`left_sent` values therefore mean no confirmed record of the referenced object went away since the
mark. Of its own ledger the plan reads every row, so there any write counts (`version`); what waits is
what the sync's report counted (held, rejected or invalid, submitted, nested rows held back), which a
plan would take up again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from functools import cache
from pathlib import Path
from typing import Any

from b2b_assets import settings
from b2b_assets.store import Store
from b2b_assets.store.marks import Mark
from b2b_assets.targets.core.contract import Target, TargetObject
from b2b_assets.targets.core.plan import ACTIONS, UNCHANGED
from b2b_assets.targets.core.sync import SyncReport

# Settings a target's mapping reads (a test checks every `settings.` call under targets/ is here): they change
# payloads without changing the hub or the code.
PAYLOAD_SETTINGS = {"credentials_system_of_record": settings.credentials_system_of_record}
# What the payload and its hash are made by: a change here (an upgrade, an edit) re-plans every object once.
_PACKAGE = Path(__file__).resolve().parents[1]
PAYLOAD_CODE = ("targets", "model", "store/hashing.py")
# What a sync reports of the records that keep its object re-planning every run until they are settled.
WAITING = ("held", "rejected", "submitted", "nested_held")


def marks_apply(dry_run: bool, only_failed: bool) -> bool:
    """Whether a run reads and writes marks: a dry run writes nothing, a retry plans only part of the object."""
    return not dry_run and not only_failed


def current_inputs(store: Store, target: Target, obj: TargetObject) -> dict[str, Any]:
    """What the object plans from, as it stands now. Read before the hub, so a load during the sync moves it on.

    A referenced object without ledger counters is None: unknown, so never taken as unchanged."""
    references = store.ledger.versions.of(target.name, obj.depends_on)
    return {"hub": store.versions.of(obj.source_entities),
            "references": {name: None if found is None else found["left_sent"] for name, found in references.items()}}


def fingerprint(target: Target, obj: TargetObject) -> str:
    """What shapes the object's payload apart from the hub rows (see the module docstring)."""
    identity = [target.name, obj.name, _qualified(obj.to_payload), _qualified(obj.limits), repr(obj.key),
                repr(obj.references), repr(obj.mode), str(obj.key_ranges)]
    parts = [_package_version(), _code_digest(), *identity,
             *(f"{name}={setting()!r}" for name, setting in sorted(PAYLOAD_SETTINGS.items()))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def unchanged_report(store: Store, target: Target, obj: TargetObject, inputs: dict[str, Any], mark: Mark | None,
                     *, full_refresh: bool, deletions_enabled: bool) -> SyncReport | None:
    """The report of a sync that would find nothing to do given the object's `mark` (`store.marks.get`),
    or None when the object must be planned."""
    if full_refresh:
        return None
    if mark is None or mark.fingerprint != fingerprint(target, obj) or mark.inputs != inputs:
        return None
    if None in inputs["references"].values() or mark.ledger.get("waiting", True):
        return None
    if deletions_enabled and mark.counts["deletion_candidates"]:
        return None
    own = store.ledger.versions.of(target.name, [obj.name])[obj.name]
    if own is None or own["version"] != mark.ledger.get("version"):
        return None
    total = mark.counts["total"]
    counts = {action: 0 for action in ACTIONS} | {
        UNCHANGED: total, "total": total, "sent": 0, "rejected": 0, "submitted": 0, "deleted": 0, "charged": 0,
        "deactivated": 0, "nested_held": 0, "deletions_pending": mark.counts["deletions_pending"],
        "cost": target.cost(obj, 0)}
    return SyncReport(target.name, obj.name, counts, False,
                      skipped=f"inputs unchanged since run {mark.run_id or '(unnamed)'}: not re-planned")


# A mark names the records gone from the source up to this many; beyond, the next changed-rows plan reads every key.
GONE_KEYS_KEPT = 10_000


def record_mark(store: Store, target: Target, obj: TargetObject, inputs: dict[str, Any], report: SyncReport,
                run_id: str) -> None:
    """Note what this complete sync planned from (see the module docstring)."""
    c = report.counts
    counts = {"total": c["total"], "nested_held": c["nested_held"], "deletions_pending": c["deletions_pending"],
              "deletion_candidates": c["deletions_pending"] + c["deleted"]}
    # Under the object's sync lock the ledger is as the sync left it, so counters started now are sound.
    own = store.ledger.versions.started(target.name, obj.name)
    ledger = {"version": own["version"], "waiting": any(c[name] for name in WAITING),
              # so that a changed-rows plan can count the rest without reading them (pipeline/outbound_changed.py)
              "gone": report.gone.tolist() if len(report.gone) <= GONE_KEYS_KEPT else None}
    store.marks.put(target.name, obj.name, Mark(run_id, fingerprint(target, obj), inputs, ledger, counts))


def _qualified(function: Any) -> str:
    return "" if function is None else f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', '')}"


@cache
def _package_version() -> str:
    return importlib.metadata.version("b2b_assets")


@cache
def _code_digest() -> str:
    digest = hashlib.sha256()
    for part in PAYLOAD_CODE:
        root = _PACKAGE / part
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
