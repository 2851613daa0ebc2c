"""<target>/<object>: the hub pushed to a target, one asset per object, built from its `Target`.

Dependencies come from declarations, never a hand-kept list: the hub entities
each object reads, and the references between a target's objects (SQUIZZ:
taxcodes and sell units before products, products before prices, ...).
Every target's assets get the same config, check and metadata.
"""

import dataclasses
from pathlib import Path

import dagster as dg
import pandas as pd

from b2b_assets import settings
from b2b_assets.defs.health.policy import NIGHTLY, OWNERS
from b2b_assets.defs.hub.assets import hub_key
from b2b_assets.defs.targets.problems import CHECK, problem_details, problems_report, records_accepted
from b2b_assets.defs.targets.progress import BatchProgress, retries_logged
from b2b_assets.defs.targets.retries import retry_transport_failures
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.store import Store
from b2b_assets.targets.core.contract import Target, TargetObject
from b2b_assets.targets.core.plan import DeletionPolicy
from b2b_assets.targets.core.sync import SyncReport


class OutboundConfig(dg.Config):
    """Per-run choices for an outbound asset, editable in the UI's launchpad (the `plan` job takes them too)."""

    full_refresh: bool = False  # resend everything (a COMPLETE upload where the target has one)
    batch_size: int = settings.batch_size()  # B2B_BATCH_SIZE, read when the definitions load
    deletions_enabled: bool = False
    deletions_max_share: float = 0.10  # also the most a full refresh may deactivate
    deletions_override: bool = False
    poll_budget_seconds: float = 60.0  # asynchronous targets: how long to wait for open jobs in this run
    max_rejected: int | None = None  # rejected records tolerated before the check fails at ERROR (None: the target's)
    only_failed: bool = False  # resend only the records the ledger holds as rejected or held (job retry_failed)


def object_key(target: Target, name: str) -> dg.AssetKey:
    return dg.AssetKey([target.key_prefix, name])


def op_name(target: Target, obj: TargetObject) -> str:
    """The step name Dagster gives the asset, for run config."""
    return f"{target.key_prefix}__{obj.name}"


def report_metadata(target: Target, report: SyncReport) -> dict:
    """The standard outbound metadata plus the cost in the target's unit."""
    c = report.counts
    metadata: dict = {**report.metadata, "dry_run": report.dry_run, "records_new": c["new"],
                      "records_changed": c["changed"], "deletions_pending": c["deletions_pending"],
                      "nested_held": c["nested_held"], "cost_unit": target.cost_unit}
    if report.skipped:
        metadata["not_replanned"] = report.skipped
    if report.dry_run:
        metadata.update(records_would_send=c["would_send"], cost_would_spend=c["cost"], records_invalid=c["invalid"],
                        records_would_deactivate=c["deactivated"], refused=report.refusal or "")
    else:
        metadata.update(cost_spent=c["cost"], records_deactivated=c["deactivated"])
    return metadata


def outbound_options(config: OutboundConfig, dry_run_dir: Path | None = None) -> OutboundOptions:
    """The pipeline's options for a run's config; a `dry_run_dir` makes it a dry run (see defs/ops/plan.py)."""
    return OutboundOptions(
        dry_run=dry_run_dir is not None, full_refresh=config.full_refresh, batch_size=config.batch_size,
        deletions=DeletionPolicy(config.deletions_enabled, config.deletions_max_share, config.deletions_override),
        poll_budget_seconds=config.poll_budget_seconds, dry_run_dir=dry_run_dir, only_failed=config.only_failed,
    )


def outcome_metadata(store: Store, target: Target, obj: TargetObject, report: SyncReport,
                     run_id: str) -> tuple[dict, pd.DataFrame]:
    """The asset's metadata, with its problem records (rejected and held) as a table and a report file."""
    metadata = report_metadata(target, report)
    metadata["dagster/row_count"] = store.ledger.counts(target.name, obj.name)["sent"]  # what the target holds
    problems = problem_details(store, target, obj, report.problems)
    if not problems.empty:
        metadata.update(problems_report(problems, settings.reports_dir() / run_id / f"{target.name}_{obj.name}.csv"))
    return metadata, problems


def build_object_asset(target: Target, obj: TargetObject) -> dg.AssetsDefinition:
    key = object_key(target, obj.name)
    check = dg.AssetCheckSpec(CHECK, asset=key, description=f"Records {target.title} rejected (ERROR above the "
                                                           f"target's max_rejected), or that wait for a reference "
                                                           f"{target.title} lacks (WARN).")

    @dg.asset(
        key=key,
        deps=[*(hub_key(e) for e in obj.source_entities), *(object_key(target, o) for o in obj.depends_on)],
        group_name=target.key_prefix,
        kinds=set(target.kinds),
        owners=list(OWNERS),
        tags={"target": target.name, "object": obj.name},
        freshness_policy=NIGHTLY,
        required_resource_keys={"store", target.resource_key},
        description=f"{obj.description} Sends only new and changed records; records whose references "
                    f"{target.title} lacks are held until they land.",
        check_specs=[check],
        pool=target.pool or target.name,  # dagster.yaml: one step per pool at a time, across runs
    )
    @retry_transport_failures
    def _object_asset(context: dg.AssetExecutionContext, config: OutboundConfig):
        # A generator, so that a failing run can still yield what the target confirmed (an observation)
        # before the failure propagates; events logged with context.log_event are dropped when a step raises.
        options = dataclasses.replace(outbound_options(config), run_id=context.run.run_id)
        sender = target.sender(getattr(context.resources, target.resource_key))
        progress = BatchProgress(context.log, key.to_user_string())
        confirmed = progress.confirmed
        store = context.resources.store.get()
        try:
            with store.lock(target.name, obj.name, holder=context.run.run_id), retries_logged(context.log):
                report = sync_object(store, target, obj, sender, options, on_progress=progress)
        except Exception:
            if any(confirmed.values()):
                # The asset fails, but what the target confirmed before it failed is in the ledger: say so.
                yield dg.AssetObservation(asset_key=key, metadata={
                    "failed": True, "records_sent": confirmed["sent"], "records_rejected": confirmed["rejected"],
                    "records_submitted": confirmed["submitted"], "records_deleted": confirmed["deleted"],
                    "cost_spent": target.cost(obj, confirmed["charged"]), "cost_unit": target.cost_unit})
            raise
        context.log.info(f"{target.name}/{obj.name}: {report.skipped or report.counts}")
        metadata, problems = outcome_metadata(store, target, obj, report, context.run.run_id)
        yield dg.MaterializeResult(
            metadata=metadata, check_results=[records_accepted(target, report, problems, config.max_rejected)])

    return _object_asset


def build_target_assets(target: Target) -> list[dg.AssetsDefinition]:
    return [build_object_asset(target, obj) for obj in target.objects]
