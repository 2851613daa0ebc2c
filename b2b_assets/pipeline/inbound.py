"""Staging one entity's export: read, map, validate; valid rows to staging, bad rows to quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from b2b_assets.pipeline import export_fingerprint
from b2b_assets.pipeline.export_fingerprint import LoadedExport
from b2b_assets.pipeline.staging import StagedExport, StagingWriter
from b2b_assets.sources import Mapping, PartnerApiClient, Prepared, empty_issues, prepare, prepare_file
from b2b_assets.sources.issues import ISSUE_COLUMNS, concat_issues
from b2b_assets.store import Store
from b2b_assets.store.quarantine import write_report

API_SOURCE = "partner_api"


@dataclass
class StageResult:
    entity: str
    source: str
    rows_read: int = 0  # rows_valid + rows_quarantined + rows_refused + rows_skipped
    rows_valid: int = 0
    rows_refused: int = 0  # rows of a file refused whole (a required column is missing)
    rows_skipped: int = 0  # left out on purpose by the mapping's filter or dedupe
    issues: pd.DataFrame = field(default_factory=empty_issues)
    warnings: list[str] = field(default_factory=list)
    look_alike_keys: int = 0  # keys differing from an earlier key only in case or spacing (see the warnings)
    report_path: Path | None = None
    skipped: str | None = None  # why nothing was read (no file in the inbox)
    not_mapped: bool = False  # the mapping does not name this entity: a partial export, nothing to sync
    unchanged: str | None = None  # "unchanged since run <id>: not re-read"; the counts are that run's

    @property
    def rows_quarantined(self) -> int:
        """Distinct rows with an issue, including rows the reader could not parse at all."""
        rows = self.issues.dropna(subset=["row_number"])
        return int(len(rows[["source", "row_number"]].drop_duplicates()))

    @property
    def rows_failed(self) -> int:
        """Rows that did not load because of bad input: what the quarantine check counts (rows, not issues)."""
        return self.rows_quarantined + self.rows_refused


def stage_entity(name: str, mapping: Mapping, store: Store, staging: Path, reports: Path, run_id: str,
                 partner_api: PartnerApiClient | None = None, reread: bool = False) -> StageResult:
    """`reread`: read the export even when it has not changed since the hub loaded it."""
    source = mapping.source(name)
    if source is None:
        return StageResult(name, "", skipped=f"{name} is not in the mapping: not synced", not_mapped=True)
    if source.api:
        if partner_api is None:
            raise RuntimeError(f"{name} is mapped to the partner API but no partner API is configured")
        cursor = store.cursors.get(API_SOURCE, name)
        raw, newest = partner_api.fetch(source.api, since=cursor)
        batches: Iterator[Prepared] = iter([prepare(name, raw, source, mapping.settings)])
        label, full_export = f"{API_SOURCE}/{source.api}", cursor is None
        seen, hashing = None, None  # an API pull has its cursor instead
    else:
        absent = [f for f in source.files if not f.exists()]
        if absent or (not source.files and not source.rows and not source.query):
            return StageResult(name, str(source.file), skipped=f"no export file {absent[0] if absent else ''} in the "
                                                                "inbox; the hub keeps what it has")
        if reread or export_fingerprint.certainly_changed(store, name, source):  # read anyway: hash meanwhile
            seen, hashing = None, export_fingerprint.FingerprintWhileReading(source, mapping.settings)
        else:
            # Taken before the read: a file replaced while it is read then differs from the fingerprint next run.
            seen = export_fingerprint.fingerprint(source, mapping.settings)
            loaded = export_fingerprint.unchanged_since(store, staging, name, seen)
            unchanged = _unchanged_result(name, loaded, store, reports, run_id) if loaded else None
            if unchanged is not None:
                return unchanged
            hashing = None
        batches = prepare_file(name, source, mapping.settings)
        label = ", ".join(f.name for f in source.files) or ("query" if source.query else "inline rows")
        full_export, newest = True, None

    result = StageResult(name, label)
    writer = StagingWriter(staging, name, run_id)
    issues: list[pd.DataFrame] = []
    try:
        for prepared in batches:
            writer.write(prepared.valid)
            result.rows_read += prepared.rows_read
            result.rows_valid += len(prepared.valid)
            result.rows_refused += prepared.rows_refused
            result.rows_skipped += prepared.rows_skipped
            result.warnings += prepared.warnings
            result.look_alike_keys += prepared.look_alike_keys
            if not prepared.issues.empty:
                issues.append(prepared.issues)
    except BaseException:
        writer.abort()
        raise
    # A file that yielded nothing usable is no evidence that records left the source.
    complete = full_export and result.rows_valid > 0
    writer.commit(StagedExport(name, label, result.rows_valid, complete, newest, run_id))
    result.issues = concat_issues(issues) if issues else empty_issues()
    # Counted from the outcomes, so every row is in exactly one of them, including rows the reader could not parse.
    result.rows_read = result.rows_valid + result.rows_quarantined + result.rows_refused + result.rows_skipped
    if not result.issues.empty:
        store.quarantine.add(run_id, name, result.issues)
        result.report_path = write_report(result.issues, reports / run_id / f"{name}.csv", name)
    if hashing is not None:
        seen = hashing.result()
    if seen is not None:
        export_fingerprint.leave_beside_staging(staging, name, LoadedExport.of(seen, result, run_id))
    return result


def _unchanged_result(name: str, loaded: LoadedExport, store: Store, reports: Path, run_id: str) -> StageResult | None:
    """The result of the run that read this export, its bad rows still bad; None when its quarantine rows are gone."""
    issues = store.quarantine.for_run(loaded.run_id, name)[list(ISSUE_COLUMNS)]
    result = StageResult(name, loaded.source, rows_valid=loaded.rows_valid, rows_refused=loaded.rows_refused,
                         rows_skipped=loaded.rows_skipped, issues=issues, warnings=list(loaded.warnings),
                         look_alike_keys=loaded.look_alike_keys,
                         unchanged=f"unchanged since run {loaded.run_id}: not re-read")
    if result.rows_quarantined != loaded.rows_quarantined:
        return None
    result.rows_read = result.rows_valid + result.rows_quarantined + result.rows_refused + result.rows_skipped
    if not issues.empty:
        result.report_path = write_report(issues, reports / run_id / f"{name}.csv", name)
    return result
