"""ops/sync_health: every target and entity on one page, plotted over time.

Runs after every outbound asset of the full sync and reads the sync ledger
and the hub's held records: what each object sent and left unchanged in its
latest sync, and what the ledger holds rejected, held, or in open jobs, with
the oldest held record's age and the first problem's full message. One check
per target turns red (ERROR) when it rejected more records than it tolerates,
and warns when a record has been held too long.
"""


from collections.abc import Sequence

import dagster as dg
import pandas as pd

from b2b_assets.defs.checks import SAMPLE_ROWS, REPORT_ROWS, readable_keys, table
from b2b_assets.defs.health.policy import HELD_TOO_LONG_HOURS, NIGHTLY, OWNERS, max_rejected, rejected_severity
from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.store import health
from b2b_assets.targets.core.contract import Target

SYNC_HEALTH_KEY = dg.AssetKey(["ops", "sync_health"])
LAST_RUN = ("sent", "unchanged")  # from each object's latest (real) materialization
PLOTTED = ("sent", "unchanged", "rejected", "held", "submitted")
COLUMN_DESCRIPTIONS = {
    "target": "ledger target; `hub` rows are records the hub itself holds for a missing parent",
    "sent": "records the latest sync of this object sent and the target confirmed",
    "unchanged": "records the latest sync found unchanged since the target confirmed them",
    "rejected": "records the ledger holds as rejected (retried every run)",
    "held": "records waiting for a record they reference",
    "submitted": "records in jobs the target has not finished",
    "acknowledged": "records the target has confirmed, in total",
    "attempts": "the most attempts of any rejected or held record",
    "oldest_held_hours": "hours since the oldest held record was first seen",
    "first_problem": "the first rejected (else held) record and the target's full message",
    "last_sync": "when the latest sync of this object ended (UTC)",
}


def check_name(target: Target) -> str:
    return f"{target.name}_records_accepted"


def _latest_real_sync(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict:
    """sent, unchanged and when, from the asset's latest materialization that was not a dry run."""
    for record in instance.fetch_materializations(key, limit=10).records:
        values = {k: v.value for k, v in record.asset_materialization.metadata.items()}
        if not values.get("dry_run"):
            return {"sent": values.get("records_sent"), "unchanged": values.get("records_unchanged"),
                    "last_sync": pd.Timestamp(record.timestamp, unit="s", tz="UTC")}
    return {}


def health_frame(store, instance: dg.DagsterInstance, targets: Sequence[Target]) -> pd.DataFrame:
    """One row per registered target object (ledger counts, latest sync), then the hub's held records."""
    objects = pd.DataFrame([{"target": t.name, "entity": o.name, **_latest_real_sync(instance, object_key(t, o.name))}
                            for t in targets for o in t.objects]).reindex(
        columns=["target", "entity", *LAST_RUN, "last_sync"])
    ledger = health.ledger_health(store.engine)
    rows = objects.merge(ledger, on=["target", "entity"], how="left")
    rows = pd.concat([rows, health.held_health(store.engine)], ignore_index=True)
    for name in (*LAST_RUN, *health.LEDGER_COUNTS, "attempts"):
        rows[name] = pd.to_numeric(rows[name]).fillna(0).astype("int64")
    rows["oldest_held_hours"] = health.age_hours(rows["oldest_held_at"])
    first = health.first_problems(store.engine)
    first["first_problem"] = readable_keys(first["record_key"]) + " (" + first["state"] + "): " + first["reason"]
    rows = rows.merge(first[["target", "entity", "first_problem"]], on=["target", "entity"], how="left")
    return rows[["target", "entity", "sent", "unchanged", "rejected", "held", "submitted", "acknowledged",
                 "attempts", "oldest_held_hours", "first_problem", "last_sync"]]


def problems_frame(store, limit: int = REPORT_ROWS) -> pd.DataFrame:
    """Rejected, then held ledger records, then the hub's held records: full key, state, full message."""
    parts = [health.ledger_problems(store.engine, limit), health.held_problems(store.engine, limit)]
    problems = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True).head(limit)
    problems = problems.rename(columns={"record_key": "key", "first_seen_at": "first_seen"})
    problems["key"] = readable_keys(problems["key"])
    return problems


def plotted_metadata(rows: pd.DataFrame) -> dict[str, int | float]:
    """Flat numbers per target and entity ("squizz/products rejected"), and per target, for the UI's plots."""
    metadata: dict[str, int | float] = {}
    for row in rows.itertuples(index=False):  # one row per object: a few dozen
        for name in PLOTTED:
            metadata[f"{row.target}/{row.entity} {name}"] = int(getattr(row, name))
        metadata[f"{row.target}/{row.entity} oldest_held_hours"] = float(
            0.0 if pd.isna(row.oldest_held_hours) else row.oldest_held_hours)
    for target, counts in rows.groupby("target", sort=False)[list(PLOTTED)].sum().iterrows():
        metadata.update({f"{target} {name}": int(counts[name]) for name in PLOTTED})
    return metadata


def target_check(target: Target, rows: pd.DataFrame, problems: pd.DataFrame) -> dg.AssetCheckResult:
    """ERROR above the target's max_rejected; WARN for rejections it tolerates or records held too long."""
    mine = rows[rows["target"] == target.name]
    rejected, held = int(mine["rejected"].sum()), int(mine["held"].sum())
    oldest = float(mine["oldest_held_hours"].max()) if mine["oldest_held_hours"].notna().any() else 0.0
    threshold = max_rejected(target)
    held_too_long = oldest > HELD_TOO_LONG_HOURS
    sample = problems[problems["target"] == target.name].drop(columns="target")
    return dg.AssetCheckResult(
        check_name=check_name(target), passed=rejected == 0 and not held_too_long,
        severity=rejected_severity(rejected, threshold),
        description=f"{target.title}: {rejected} rejected (tolerated: {threshold}), {held} held, the oldest for "
                    f"{oldest:g} h (warns after {HELD_TOO_LONG_HOURS:g} h)",
        metadata={"failure_count": rejected + (held if held_too_long else 0), "records_rejected": rejected,
                  "records_held": held, "max_rejected": threshold, "oldest_held_hours": oldest,
                  "sample": table(sample, SAMPLE_ROWS)},
    )


def build_sync_health_asset(targets: Sequence[Target]) -> dg.AssetsDefinition:
    checks = [dg.AssetCheckSpec(check_name(t), asset=SYNC_HEALTH_KEY,
                                description=f"{t.title}: rejected records fail at ERROR above the target's "
                                            f"max_rejected; records held longer than {HELD_TOO_LONG_HOURS:g} h warn.")
              for t in targets]

    @dg.asset(
        key=SYNC_HEALTH_KEY,
        deps=[object_key(t, o.name) for t in targets for o in t.objects],
        group_name="ops",
        kinds={"sqlalchemy", "pandas"},
        owners=list(OWNERS),
        tags={"area": "ops"},
        freshness_policy=NIGHTLY,
        check_specs=checks,
    )
    def sync_health(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        """Every target and entity at a glance: sent and unchanged in its latest sync; rejected, held and in open
        jobs in the sync ledger, with attempts, the oldest held record's age and the first problem's full
        message; then the rejected and held records themselves. Held records of the hub (orphans of the export)
        are the `hub` rows."""
        hub = store.get()
        rows = health_frame(hub, context.instance, targets)
        problems = problems_frame(hub)
        return dg.MaterializeResult(
            metadata={"sync_health": table(rows, descriptions=COLUMN_DESCRIPTIONS),
                      "rejected_and_held": table(problems),
                      "dagster/row_count": int(len(rows)), **plotted_metadata(rows)},
            check_results=[target_check(t, rows, problems) for t in targets],
        )

    return sync_health
