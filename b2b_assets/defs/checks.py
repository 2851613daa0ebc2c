"""Helpers shared by the asset checks and metadata of every area: failure counts, sample tables, report tables.

Samples and reports are `dg.MetadataValue.table` with a column schema, so the
UI shows them as tables with every value whole (a vendor's full code and
message, not the first 80 characters), and composite keys with a readable
separator instead of the ledger's unit separator.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from b2b_assets.targets.core.contract import KEY_SEPARATOR

SAMPLE_ROWS = 20  # rows of a check's sample
REPORT_ROWS = 200  # rows of a report file shown in the metadata; the file has them all
READABLE_SEPARATOR = " / "


def readable_keys(keys: pd.Series) -> pd.Series:
    """Composite record keys with " / " between their parts (the ledger joins them with "\\x1f")."""
    return keys.astype("string").str.replace(KEY_SEPARATOR, READABLE_SEPARATOR, regex=False)


def _column_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(column.dtype):
        return "int"
    if pd.api.types.is_float_dtype(column.dtype):
        return "float"
    return "string"


def _cell(value, kind: str):
    """A value as TableRecord takes it: int, float, bool, str or None."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def table(frame: pd.DataFrame, rows: int | None = None,
          descriptions: dict[str, str] | None = None) -> dg.TableMetadataValue:
    """The first `rows` rows of `frame` (all by default) as a table the UI renders with its schema."""
    head = frame if rows is None else frame.head(rows)
    kinds = {name: _column_type(head[name]) for name in head.columns}
    schema = dg.TableSchema(columns=[dg.TableColumn(str(name), kinds[name], (descriptions or {}).get(name))
                                     for name in head.columns])
    columns = {str(name): [_cell(v, kinds[name]) for v in head[name].tolist()] for name in head.columns}
    records = [dg.TableRecord({name: values[i] for name, values in columns.items()}) for i in range(len(head))]
    return dg.MetadataValue.table(records=records, schema=schema)


def sample_table(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> dg.TableMetadataValue:
    """A check's sample: the first rows, whole; the full list lives in the report file."""
    return table(frame, rows)


def report_metadata(name: str, frame: pd.DataFrame, path: Path) -> dict:
    """A report file for the UI, which cannot open local paths: its first REPORT_ROWS rows as a table, how many
    rows it has, and where the whole file is."""
    metadata: dict = {name: table(frame, REPORT_ROWS), f"{name}_rows": int(len(frame)),
                      f"{name}_file": dg.MetadataValue.path(str(path))}
    if len(frame) > REPORT_ROWS:
        metadata[f"{name}_not_shown"] = f"{len(frame) - REPORT_ROWS} more rows in {path}"
    return metadata


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
