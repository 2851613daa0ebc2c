"""Helpers shared by the asset checks of every area: failure counts and small sample tables."""

from __future__ import annotations

import dagster as dg
import pandas as pd

SAMPLE_ROWS = 10


def sample_table(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> dg.MetadataValue:
    """A small markdown table for the UI; the full list lives in a report file."""
    if frame.empty:
        return dg.MetadataValue.md("_none_")
    head = frame.head(rows).astype("string").fillna("")
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(v.replace("|", "\\|")[:80] for v in row) + " |" for row in head.itertuples(index=False)]
    if len(frame) > rows:
        lines.append(f"\n_{len(frame) - rows} more in the report file_")
    return dg.MetadataValue.md("\n".join(lines))


def check_result(name: str, failures: pd.DataFrame, severity: dg.AssetCheckSeverity,
                 failure_count: int | None = None, **metadata) -> dg.AssetCheckResult:
    """`failure_count` defaults to the failure rows; pass it when several failures describe one record."""
    count = int(len(failures)) if failure_count is None else int(failure_count)
    return dg.AssetCheckResult(
        check_name=name,
        passed=bool(failures.empty) and count == 0,
        severity=severity,
        metadata={"failure_count": count, "sample": sample_table(failures), **metadata},
    )
