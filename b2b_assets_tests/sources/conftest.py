"""Helpers for the sources tests: write a file, run it through reader + prepare, look for an issue."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from b2b_assets.sources import EntitySource, Settings, default_source, prepare_file
from b2b_assets.sources.issues import concat_issues


class Outcome:
    def __init__(self, valid: pd.DataFrame, issues: pd.DataFrame, warnings: list[str], rows_read: int):
        self.valid, self.issues, self.warnings, self.rows_read = valid, issues, warnings, rows_read

    def keys(self, column: str) -> list[str]:
        return self.valid[column].tolist()

    def issue(self, *, row: int | None, field: str | None, contains: str) -> pd.Series:
        """The one issue at (row, field), asserting its reason reads as expected."""
        issues = self.issues
        at_row = issues["row_number"].isna() if row is None else issues["row_number"] == row
        at_field = issues["field"].isna() if field is None else issues["field"] == field
        found = issues[at_row.fillna(False) & at_field.fillna(False)]
        assert len(found) == 1, f"expected one issue at row {row}, field {field}; issues:\n{issues.to_string()}"
        found = found.iloc[0]
        assert contains in found["reason"], found["reason"]
        return found


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


@pytest.fixture
def run():
    def _run(entity: str, path: Path, source: EntitySource | None = None, settings: Settings | None = None) -> Outcome:
        source = source or default_source(entity)
        results = list(prepare_file(entity, source, settings, path=path))
        valid = pd.concat([r.valid for r in results], ignore_index=True)
        issues = concat_issues(r.issues for r in results)
        warnings = [w for r in results for w in r.warnings]
        return Outcome(valid, issues, warnings, sum(r.rows_read for r in results))

    return _run
