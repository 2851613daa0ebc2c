"""erp/<entity>: the validated rows of the latest export, with blocking pandera checks."""


import dagster as dg
import pandas as pd
import pandera.pandas as pa

from b2b_assets import settings
from b2b_assets.defs.checks import check_result, report_metadata
from b2b_assets.defs.health.policy import NIGHTLY, OWNERS
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.model import ENTITIES, Entity
from b2b_assets.pipeline import export_fingerprint
from b2b_assets.pipeline.inbound import StageResult, stage_entity
from b2b_assets.pipeline.staging import read_staged
from b2b_assets.sources import Mapping, load_mapping, schema_for
from b2b_assets.sources.check import missing_file_reason


def erp_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["erp", name])


class ErpConfig(dg.Config):
    """Per-run choices for erp/<entity> (`b2b-sync sync --reread` and `--full-refresh` set `reread`)."""

    reread: bool = False  # read the export even when it has not changed since the hub loaded it


def staged_violations(model: Entity) -> pd.DataFrame:
    """Re-validate what was staged against the canonical schema: nothing invalid may reach the hub."""
    failures: list[pd.DataFrame] = []
    schema = schema_for(model)
    for batch in read_staged(settings.staging_dir(), model.name):
        try:
            schema.validate(batch, lazy=True)
        except pa.errors.SchemaErrors as errors:
            failures.append(errors.failure_cases[["column", "check", "failure_case"]])
        duplicated = batch.duplicated(subset=list(model.key), keep="first")
        if duplicated.any():
            failures.append(pd.DataFrame({"column": "+".join(model.key), "check": "unique key",
                                          "failure_case": batch.loc[duplicated, model.key[0]].astype("string")}))
    return pd.concat(failures, ignore_index=True) if failures else pd.DataFrame()


def staged_rows_check(model: Entity, result: StageResult) -> dg.AssetCheckResult:
    """The blocking check. An unchanged export's staging passed it in the run that read it: the hub load that
    recorded the export ran after it, and a failure forgets the fingerprint, so no hub load can record it."""
    if result.unchanged:
        return dg.AssetCheckResult(check_name="staged_rows_valid", passed=True, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"failure_count": 0, "unchanged": True, "reason": result.unchanged})
    evaluated = check_result("staged_rows_valid", staged_violations(model), dg.AssetCheckSeverity.ERROR)
    if not evaluated.passed:
        export_fingerprint.forget_staged(settings.staging_dir(), model.name)
    return evaluated


def fail_unless_optional(mapping: Mapping, result: StageResult) -> None:
    """An export without this entity's file fails the asset in one line, unless the mapping calls it optional."""
    source = mapping.source(result.entity)
    if source.optional:
        return
    missing = next((f for f in source.files if not f.exists()), source.file)
    raise dg.Failure(description=missing_file_reason(mapping, result.entity, missing), allow_retries=False,
                     metadata={"missing_file": str(missing), "mapping_entry": f"sources.{result.entity}"})


def stage_metadata(result: StageResult) -> dict:
    """What erp/<entity> reports of a staging, real or dry run."""
    metadata: dict = {
        "rows_read": result.rows_read,
        "rows_valid": result.rows_valid,
        "rows_quarantined": result.rows_quarantined,
        "rows_refused": result.rows_refused,
        "rows_skipped": result.rows_skipped,
        "source": result.source,
        "rows_look_alike_keys": result.look_alike_keys,  # keys like an earlier one but for case or spacing
        "dagster/row_count": result.rows_valid,
    }
    if result.unchanged:
        metadata.update(unchanged=True, unchanged_reason=result.unchanged)
    if result.report_path:
        quarantined = result.issues[["source", "row_number", "field", "value", "reason"]]
        metadata.update(report_metadata("quarantine_report", quarantined, result.report_path))
    return metadata


def build_erp_asset(model: Entity) -> dg.AssetsDefinition:
    key = erp_key(model.name)
    checks = [
        dg.AssetCheckSpec("staged_rows_valid", asset=key, blocking=True,
                          description="The staged rows pass the canonical pandera schema and have unique keys; "
                                      "a failure stops the hub load."),
        dg.AssetCheckSpec("no_quarantined_rows", asset=key,
                          description="Rows of the export that failed validation and were quarantined."),
    ]

    @dg.asset(
        key=key,
        group_name="erp",
        kinds={"pandas", "pandera"},
        owners=list(OWNERS),
        tags={"area": "erp", "entity": model.name},
        freshness_policy=NIGHTLY,
        description=f"{model.description}\n\nValidated rows of the latest export (key: {', '.join(model.key)}). "
                    "Invalid rows are quarantined with file, row, field and reason; valid rows flow on.",
        check_specs=checks,
    )
    def _erp_asset(context: dg.AssetExecutionContext, config: ErpConfig, store: StoreResource,
                   partner_api: PartnerApiResource) -> dg.MaterializeResult:
        mapping = load_mapping(settings.mapping_path())
        with partner_api.client() as client, store.get().lock("erp", model.name, holder=context.run.run_id):
            result = stage_entity(model.name, mapping, store.get(), settings.staging_dir(), settings.reports_dir(),
                                  context.run.run_id, client, reread=config.reread)
        for warning in result.warnings:
            context.log.warning(warning)
        if result.not_mapped:  # a partial export: a note, not a warning, and nothing to check
            context.log.info(result.skipped)
            return dg.MaterializeResult(
                metadata={"not_mapped": True, "source": "(not in the mapping)"},
                check_results=[dg.AssetCheckResult(check_name=name, passed=True, metadata={"not_mapped": True})
                               for name in ("staged_rows_valid", "no_quarantined_rows")])
        if result.skipped:
            fail_unless_optional(mapping, result)
            context.log.info(f"{result.skipped} (the mapping marks it optional)")
        if result.unchanged:
            context.log.info(f"erp/{model.name}: {result.unchanged}")
        quarantined = result.issues[["source", "row_number", "field", "value", "reason"]]
        return dg.MaterializeResult(
            metadata=stage_metadata(result),
            check_results=[
                staged_rows_check(model, result),
                check_result("no_quarantined_rows", quarantined, dg.AssetCheckSeverity.WARN,
                             failure_count=result.rows_failed, rows_quarantined=result.rows_quarantined,
                             rows_refused=result.rows_refused),
            ],
        )

    return _erp_asset


erp_assets = [build_erp_asset(model) for model in ENTITIES]
