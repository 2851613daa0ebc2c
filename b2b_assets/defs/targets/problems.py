"""What an outbound asset says about the records a target refused or holds: its check and its report.

The check fails at ERROR when the target rejected more records than it
tolerates (`defs/health/policy.py`), else at WARN while anything is rejected
or held. Its sample and the report carry each record's full key (" / "
between the parts), its state (`rejected` by the target, `invalid` by the
target's own limits before sending, `held` for a missing reference), the full
reason with the vendor's code, the ledger's attempts and when it was first seen.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from b2b_assets.defs.checks import readable_keys, report_metadata, sample_table
from b2b_assets.defs.health.policy import max_rejected, rejected_severity
from b2b_assets.store import Store
from b2b_assets.store.csv_reports import write_csv_report
from b2b_assets.store.health import ledger_problems
from b2b_assets.targets.core.contract import RECORD_KEY, Target, TargetObject
from b2b_assets.targets.core.sync import SyncReport

CHECK = "records_accepted"
PROBLEM_COLUMNS = ["key", "state", "reason", "attempts", "first_seen"]


def problem_details(store: Store, target: Target, obj: TargetObject, problems: pd.DataFrame) -> pd.DataFrame:
    """The run's problem records with a readable key, and the ledger's attempts and first sighting of each."""
    if problems.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    ledger = ledger_problems(store.engine, None, target.name, obj.name)[[RECORD_KEY, "attempts", "first_seen_at"]]
    found = problems.merge(ledger, on=RECORD_KEY, how="left")
    found["attempts"] = found["attempts"].astype("Int64")
    found[RECORD_KEY] = readable_keys(found[RECORD_KEY])
    return found.rename(columns={RECORD_KEY: "key", "first_seen_at": "first_seen"})[PROBLEM_COLUMNS]


def problems_report(details: pd.DataFrame, path: Path) -> dict:
    """Write the problems as a CSV report (state kept) and show it in the metadata up to its first rows."""
    return report_metadata("problems_report", details, write_csv_report(details, path))


def records_accepted(target: Target, report: SyncReport, details: pd.DataFrame,
                     override: int | None = None) -> dg.AssetCheckResult:
    rejected, held = report.metadata["records_rejected"], report.metadata["records_held"]
    threshold = max_rejected(target, override)
    return dg.AssetCheckResult(
        check_name=CHECK,
        passed=bool(details.empty),
        severity=rejected_severity(rejected, threshold),
        description=f"{rejected} rejected (tolerated: {threshold}), {held} held",
        metadata={"failure_count": int(len(details)), "records_rejected": rejected, "records_held": held,
                  "max_rejected": threshold, "sample": sample_table(details)},
    )
