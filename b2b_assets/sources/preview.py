"""`b2b-sync preview ENTITY`: what the mapping makes of the export, before a run.

Shows where every canonical field comes from (an explicit column, an
expression, a constant, or a source column matched by name - the implicit
case a user should confirm), the first N mapped rows, and the rows among
them that a run would quarantine, with why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from b2b_assets.model import entity as entity_named
from b2b_assets.sources.issues import concat_issues, empty_issues
from b2b_assets.sources.mapping import Mapping
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN
from b2b_assets.sources.validate import prepare_file

MAX_WIDTH = 40  # characters per shown value


@dataclass
class Preview:
    entity: str
    origins: dict[str, str] = field(default_factory=dict)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantined: pd.DataFrame = field(default_factory=empty_issues)
    notes: list[str] = field(default_factory=list)

    @property
    def matched_by_name(self) -> list[str]:
        return [name for name, origin in self.origins.items() if origin.endswith("(matched by name)")]


def preview(mapping: Mapping, name: str, rows: int = 10) -> Preview:
    source = mapping.source(name)
    if source is None:
        return Preview(name, notes=[f"{name} is not in the mapping: not synced"])
    if source.api:
        return Preview(name, notes=[f"{name} comes from the partner API ({source.api}); nothing to preview offline"])
    result = Preview(name)
    valid, issues = [], []
    for prepared in prepare_file(name, source, mapping.settings, limit=rows):
        result.origins = result.origins or prepared.origins
        valid.append(prepared.valid)
        issues.append(prepared.issues)
        result.notes += prepared.warnings
    used = [c for c in entity_named(name).columns if c in result.origins]
    result.rows = pd.concat(valid, ignore_index=True)[[SOURCE_COLUMN, ROW_COLUMN, *used]].head(rows)
    result.quarantined = concat_issues(issues)
    return result


def render(p: Preview) -> str:
    lines = [f"{p.entity}"]
    if p.origins:
        width = max(len(n) for n in p.origins)
        lines += ["", "Fields and where they come from:"]
        lines += [f"  {n:<{width}}  <- {o}" for n, o in p.origins.items()]
    if p.matched_by_name:
        lines += ["", f"Matched by name (implicit; `match_by_name: false` switches it off): {', '.join(p.matched_by_name)}"]
    if not p.rows.empty:
        lines += ["", f"First {len(p.rows)} mapped row(s):", _table(p.rows)]
    if not p.quarantined.empty:
        lines += ["", "Would be quarantined:", _table(p.quarantined)]
    if p.notes:
        lines += ["", "Notes:", *(f"  {n}" for n in p.notes)]
    return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    text = frame.astype("string").fillna("").map(lambda v: v if len(v) <= MAX_WIDTH else v[:MAX_WIDTH - 1] + "…")
    return text.to_string(index=False)
