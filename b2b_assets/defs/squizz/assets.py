"""squizz/<import type>: the hub pushed to SQUIZZ.com, one asset per ESD import type.

Dependencies come from two declarations, never a hand-kept list: the hub
entities each import type reads, and the references between import types
(the seed's "Tips and Recommendations": taxcodes and sell units before
products, products before pricing and locations, and so on).
"""


import dagster as dg

from b2b_assets import settings
from b2b_assets.defs.checks import check_result
from b2b_assets.defs.hub.assets import hub_key
from b2b_assets.defs.resources import StoreResource
from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.pipeline.outbound import OutboundOptions, sync_import_type
from b2b_assets.store.quarantine import write_report
from b2b_assets.targets.core.plan import DeletionPolicy
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, ImportType


class OutboundConfig(dg.Config):
    """Per-run choices for an outbound asset, editable in the UI's launchpad."""

    dry_run: bool = False  # plan only: report creates, updates, unchanged, held, deletes and token cost
    full_refresh: bool = False  # resend everything as a COMPLETE upload (SQUIZZ deactivates what it lacks)
    batch_size: int = 500
    deletions_enabled: bool = False
    deletions_max_share: float = 0.10
    deletions_override: bool = False


def squizz_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["squizz", name])


def build_squizz_asset(spec: ImportType) -> dg.AssetsDefinition:
    key = squizz_key(spec.name)
    check = dg.AssetCheckSpec("records_accepted", asset=key,
                              description="Records SQUIZZ rejected, or that wait for a reference SQUIZZ lacks.")

    @dg.asset(
        key=key,
        deps=[*(hub_key(e) for e in spec.source_entities), *(squizz_key(t) for t in spec.depends_on)],
        group_name="squizz",
        kinds={"squizz", "api"},
        description=f"SQUIZZ import type {spec.type_id} ({spec.name}) from hub "
                    f"{', '.join(spec.source_entities)}. Sends only new and changed records (INCREMENT); "
                    "records whose references SQUIZZ lacks are held until they land.",
        check_specs=[check],
    )
    def _squizz_asset(context: dg.AssetExecutionContext, config: OutboundConfig, store: StoreResource,
                      squizz: SquizzResource) -> dg.MaterializeResult:
        options = OutboundOptions(
            dry_run=config.dry_run, full_refresh=config.full_refresh, batch_size=config.batch_size,
            deletions=DeletionPolicy(config.deletions_enabled, config.deletions_max_share, config.deletions_override),
            dry_run_dir=settings.state_dir() / "dry_runs" / context.run.run_id,
        )
        with store.get().lock("squizz", spec.name, holder=context.run.run_id):
            report = sync_import_type(store.get(), None if config.dry_run else squizz.client(), spec, options)
        c = report.counts
        context.log.info(f"squizz/{spec.name}: {c}")
        metadata: dict = {**report.metadata, "tokens_spent": report.metadata["records_sent"],
                          "dry_run": report.dry_run, "records_new": c["new"], "records_changed": c["changed"],
                          "deletions_pending": c["deletions_pending"],
                          "nested_held": c["nested_held"]}
        if report.dry_run:
            metadata["tokens_would_spend"] = c["would_send"]
        if not report.problems.empty:
            path = settings.reports_dir() / context.run.run_id / f"squizz_{spec.name}.csv"
            problems = report.problems.rename(columns={"record_key": "value"}).assign(
                source=f"squizz/{spec.name}", row_number=None, field="record_key")
            metadata["problems_report"] = dg.MetadataValue.path(str(write_report(problems, path, spec.name)))
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[check_result("records_accepted", report.problems, dg.AssetCheckSeverity.WARN)],
        )

    return _squizz_asset


squizz_assets = [build_squizz_asset(spec) for spec in IMPORT_TYPES]
