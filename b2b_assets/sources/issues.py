"""Issue rows: how every stage of the inbound path reports a problem to the user.

One shape for all of them (reader, mapping, validation), so the quarantine
table and the Dagster check metadata read a single frame:
``source, row_number, field, value, reason``. ``row_number`` is NA for a
problem with the whole file (empty file, missing column).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from b2b_assets.model.frames import TEXT_DTYPE

ISSUE_COLUMNS = ("source", "row_number", "field", "value", "reason")
ROW_NUMBER_DTYPE = "int64[pyarrow]"

log = logging.getLogger("b2b_assets.sources")


def issue_frame(
    source: str | Iterable[str] | pd.Series,
    row_number: object,
    field: object,
    value: object,
    reason: object,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Build issue rows from scalars or aligned columns (scalars broadcast)."""
    frame = pd.DataFrame(
        {"source": source, "row_number": row_number, "field": field, "value": value, "reason": reason},
        index=index,
    )
    return _typed(frame).reset_index(drop=True)


def empty_issues() -> pd.DataFrame:
    return _EMPTY.copy()


def concat_issues(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_issues()
    return parts[0].reset_index(drop=True) if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({"source": TEXT_DTYPE, "field": TEXT_DTYPE, "value": TEXT_DTYPE, "reason": TEXT_DTYPE})
    out["row_number"] = pd.array(out["row_number"].astype(object).where(out["row_number"].notna(), None),
                                 dtype=ROW_NUMBER_DTYPE)
    return out[list(ISSUE_COLUMNS)]


_EMPTY = _typed(pd.DataFrame({c: [] for c in ISSUE_COLUMNS}))  # built once: building it costs a few ms


class IssueLog:
    """Collects issues and warnings while a file is read and prepared.

    Warnings are things the user should know but that lose no data (an unknown
    column, a guessed encoding); they are logged and kept as text. Issues are
    rows (or whole files) that did not make it through.
    """

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._rows: list[tuple] = []  # single issues, framed together in take(): a frame per issue is slow
        self.warnings: list[str] = []

    def add(self, source: str, reason: str, *, row_number: int | None = None, field: str | None = None,
            value: str | None = None) -> None:
        self._rows.append((source, row_number, field, value, reason))

    def extend(self, issues: pd.DataFrame) -> None:
        if len(issues):
            self._parts.append(issues)

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def take(self) -> pd.DataFrame:
        """Return the issues collected so far and forget them (batches hand them on once)."""
        if self._rows:
            self._parts.append(issue_frame(*(list(column) for column in zip(*self._rows))))
        frame, self._parts, self._rows = concat_issues(self._parts), [], []
        return frame

    def __len__(self) -> int:
        return len(self._rows) + sum(len(p) for p in self._parts)
