"""`b2b-sync check`: the whole mapping validated before anything runs, every problem once, with file and line.

Looks at what a run would trip over: the mapping's own mistakes (unknown
entities, fields and keys, bad options), files that are missing (unless the
source is `optional`) or cannot be read, required fields (keys included) that nothing maps, and transforms whose
SQL does not compile. Files are opened for real, through the same readers and
transforms a run uses, but only the first rows are prepared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from b2b_assets.sources.mapping import EntitySource, Mapping, load_mapping_leniently
from b2b_assets.sources.transform import TransformError
from b2b_assets.sources.validate import prepare_file

SAMPLE_ROWS = 50  # enough to see the header and the first values
EMPTY_EXPORT = ("file is empty", "file has a header but no data rows")


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)  # a run would fail or lose data: it does not start
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong: entities not mapped, optional exports

    @property
    def ok(self) -> bool:
        return not self.errors


def check_mapping(path: str | Path) -> CheckResult:
    """Every problem of the mapping at `path`, in file order, each once."""
    mapping, problems = load_mapping_leniently(path)
    result = CheckResult(errors=problems)
    if mapping is None:
        return result
    if mapping.not_mapped:
        result.notes.append(f"not in the mapping, so not synced: {', '.join(mapping.not_mapped)}")
    for name, source in mapping.sources.items():
        if source.api is None:
            source_problems(mapping, name, source, result)
    result.errors = list(dict.fromkeys(result.errors))
    return result


def source_problems(mapping: Mapping, name: str, source: EntitySource, result: CheckResult) -> None:
    entry = f"sources.{name}"
    absent = [f for f in source.files if not f.is_file()]
    if absent and source.optional:  # expected now and then: the run skips the entity, the hub keeps what it has
        result.notes.append(f"{mapping.where(entry + '.file')}: {entry}: no export file {absent[0]} in the inbox; "
                            "it is optional, so a run skips it")
        return
    if absent:
        result.errors.append(missing_file_reason(mapping, name, absent[0]))
        return
    unreadable = _file_problems(source)
    if unreadable:
        result.errors += [f"{mapping.where(entry)}: {entry}: {why}" for why in unreadable]
        return
    try:
        for prepared in prepare_file(name, source, mapping.settings, limit=SAMPLE_ROWS):
            file_level = prepared.issues[prepared.issues["row_number"].isna()]
            for field_name, reason in zip(file_level["field"], file_level["reason"]):
                at = f"{entry}.columns.{field_name}"  # the field's own line if the mapping lists it
                at = at if at in mapping.lines else entry
                # An export with no rows today is readable and loads nothing; anything else would lose rows.
                found = result.notes if reason.startswith(EMPTY_EXPORT) else result.errors
                found.append(f"{mapping.where(at)}: {entry}: {reason}")
    except TransformError as exc:
        result.errors.append(f"{mapping.where(exc.entry)}: {exc.entry}: {exc.message}")


def missing_file_reason(mapping: Mapping, name: str, file: Path) -> str:
    """One line naming the missing file and the mapping entry that asks for it."""
    entry = f"sources.{name}"
    return (f"{mapping.where(entry + '.file')}: {entry}: no export file {file} in the inbox; add it, or mark the "
            "source `optional: true` if exports may lack it")


def _file_problems(source: EntitySource) -> list[str]:
    """Lookup and query files must be there (a join against nothing would blank columns); all must be readable."""
    problems = []
    for path in source.input_files:
        if not path.is_file():
            problems.append(f"file not found: {path}")
        elif not os.access(path, os.R_OK):
            problems.append(f"file cannot be read (permissions): {path}")
    return problems
