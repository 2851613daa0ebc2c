"""Writing CSV reports a person opens in a spreadsheet, without letting a cell run as a formula.

A value that starts with = + - @ (or a tab or carriage return) is a formula to
Excel, LibreOffice and Google Sheets; quarantined input is exactly where an
attacker's `=HYPERLINK(...)` ends up. Following OWASP's CSV-injection advice,
such text cells are written with a leading single quote, which spreadsheets show
as text. Only reports are escaped: the values sent to targets are untouched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START = r"^[=+\-@\t\r]"


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot start a formula."""
    out = frame.copy(deep=False)
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_string_dtype(column.dtype) or column.dtype == object):
            continue
        text = column.astype("string[pyarrow]")
        risky = text.str.contains(FORMULA_START, regex=True).fillna(False)
        if risky.any():
            out[name] = text.mask(risky, "'" + text)
    return out


def write_csv_report(frame: pd.DataFrame, path: str | Path, columns: list[str] | None = None) -> Path:
    """Write `frame` as a CSV report (formulas escaped), creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # CRLF, as RFC 4180 asks: then a value holding a bare CR is quoted too, instead of starting a new row.
    escape_formulas(frame).to_csv(path, index=False, columns=columns, lineterminator="\r\n")
    return path
