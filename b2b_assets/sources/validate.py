"""From raw strings to canonical rows: map, normalise, validate; bad rows become issues, good rows flow on.

`prepare` handles one frame. A file arrives in batches, so `FilePreparer`
carries what must span them (keys already seen, warnings already given) and
`prepare_file` runs a whole file through the reader and the preparer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from b2b_assets.model import Entity, Kind, entity as entity_named
from b2b_assets.model.frames import cast_frame
from b2b_assets.sources.columns import BOOKKEEPING, apply_mapping
from b2b_assets.sources.issues import IssueLog, concat_issues, empty_issues, issue_frame
from b2b_assets.sources.issues import log as logger
from b2b_assets.sources.characters import character_issues, key_columns
from b2b_assets.sources.keys import KeyTracker, folded_key_hashes, key_hashes, normalize_key_text
from b2b_assets.sources.mapping import EntitySource, Settings, default_source
from b2b_assets.sources.normalize import normalize, parse_number
from b2b_assets.sources.readers import read_batches
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN
from b2b_assets.sources.schema import REQUIRED_REASON, failure_issues, input_schema
from b2b_assets.sources.screen import Screened, screen
from b2b_assets.sources.transform import TransformRun


@dataclass
class Prepared:
    valid: pd.DataFrame  # cast_frame dtypes, plus _source and _row
    issues: pd.DataFrame  # source, row_number, field, value, reason
    rows_read: int = 0
    warnings: list[str] = field(default_factory=list)
    rows_refused: int = 0  # rows of a file refused whole (a required column is missing)
    rows_skipped: int = 0  # rows a mapping's filter or dedupe left out on purpose
    origins: dict[str, str] = field(default_factory=dict)  # canonical field -> where it came from (the preview)
    look_alike_keys: int = 0  # rows whose key differs from an earlier one only in case or spacing (loaded, reported)

    @property
    def rows_quarantined(self) -> int:
        return self.rows_read - len(self.valid)


def prepare(entity: Entity | str, raw: pd.DataFrame, mapping_for_entity: EntitySource | None = None,
            settings: Settings | None = None) -> Prepared:
    """Prepare one self-contained frame (duplicates are looked for within it only)."""
    return FilePreparer(entity, mapping_for_entity, settings).prepare(raw)


def prepare_file(entity: Entity | str, source: EntitySource, settings: Settings | None = None,
                 path: str | Path | None = None, limit: int | None = None) -> Iterator[Prepared]:
    """Read the source (its file, or through its transforms) batch by batch and prepare each; reader issues ride along.

    Yields at least one Prepared, so an empty or unreadable file still reports its issue. `limit` stops after
    about that many rows (the preview and the check).
    """
    log = IssueLog()
    preparer = FilePreparer(entity, source, settings)
    frames, transform = source_frames(source, log, path, limit)
    produced = False
    for raw in frames:
        prepared = preparer.prepare(raw)
        prepared.issues = concat_issues([log.take(), prepared.issues])
        prepared.warnings = [*log.warnings, *prepared.warnings]
        log.warnings.clear()
        produced = True
        yield prepared
        if limit is not None:
            break
    skipped = transform.rows_skipped if transform else 0
    notes = transform.warnings if transform else []
    if not produced or len(log) or log.warnings or skipped or notes:
        yield Prepared(valid=_empty_valid(preparer.entity), issues=log.take(), rows_read=0,
                       warnings=[*log.warnings, *notes], rows_skipped=skipped)


def source_frames(source: EntitySource, log: IssueLog, path: str | Path | None = None,
                  limit: int | None = None) -> tuple[Iterator[pd.DataFrame], TransformRun | None]:
    """The raw frames of a source, as the readers give them (text, plus `_source`/`_row`): its file read in
    batches, or the output of its transforms (which is then returned too, for what it skipped)."""
    if source.transformed or source.rows:
        transform = TransformRun(source, log, limit)
        return transform.frames(), transform
    options = source.read if limit is None else replace(source.read, batch_rows=min(limit, source.read.batch_rows))
    return read_batches(Path(path or source.file), options, log), None


class FilePreparer:
    """Prepares the batches of one file in order."""

    def __init__(self, entity: Entity | str, source: EntitySource | None = None,
                 settings: Settings | None = None) -> None:
        self.entity = entity_named(entity) if isinstance(entity, str) else entity
        self.source = source or default_source(self.entity.name)
        self.settings = settings or Settings()
        self._keys = KeyTracker()
        # The same keys with case and spaces ignored, for the look-alikes to report; while no key of the file has
        # changed by folding, they are the keys themselves, so the twin is only made at the first that does.
        self._folded_keys: KeyTracker | None = None
        self._look_alike = 0  # found by the batch being prepared
        self._told: set[str] = set()  # file-level messages already given, so each appears once per file

    def prepare(self, raw: pd.DataFrame) -> Prepared:
        entity = self.entity
        raw = _with_bookkeeping(raw.reset_index(drop=True))
        warnings: list[str] = []
        mapped = apply_mapping(entity, raw, self.source, self.settings)
        source_name = str(raw[SOURCE_COLUMN].iloc[0]) if len(raw) else "(no rows)"
        if mapped.unused_columns:
            self._once(warnings, f"{source_name}: ignored column(s) not mapped to {entity.name}: "
                                 f"{', '.join(mapped.unused_columns)}")
        for canonical, wanted in mapped.missing_optional:
            self._once(warnings, f"{source_name}: column {wanted!r} mapped to {canonical} is not in the file")
        if mapped.missing_required:
            return Prepared(_empty_valid(entity), self._missing_columns(raw, mapped.missing_required, source_name),
                            rows_read=len(raw), warnings=warnings, rows_refused=len(raw), origins=mapped.origins)

        values = mapped.frame  # trimmed source values: what issues quote
        frame = normalize(entity, self._canonical_keys(values), self.settings)
        screened = screen(entity, frame)
        issues = [
            character_issues(entity, values),
            self._schema_issues(frame, screened, values),
            _one_of_issues(entity, frame),
            self._duplicate_issues(frame, source_name, warnings),
        ]
        look_alike, self._look_alike = self._look_alike, 0
        issues = concat_issues(issues)
        if entity.name == "users":
            issues = _explain_user_key(issues, self.settings)
        good = frame
        if issues["row_number"].notna().any():
            at = pd.MultiIndex.from_arrays([frame[SOURCE_COLUMN], frame[ROW_COLUMN]])
            bad = at.isin(pd.MultiIndex.from_arrays([issues["source"], issues["row_number"]]))
            good = frame[~bad] if bad.any() else frame
        return Prepared(valid=_typed(entity, good, screened.numbers), issues=issues, rows_read=len(raw),
                        warnings=warnings, origins=mapped.origins, look_alike_keys=look_alike)

    def _schema_issues(self, frame: pd.DataFrame, screened: Screened, values: pd.DataFrame) -> pd.DataFrame:
        """The input schema's failures, looked for among the rows the screen could not clear."""
        if not screened.suspect.any():
            return empty_issues()
        suspects = frame[self.entity.columns]
        if not screened.suspect.all():
            suspects = suspects[screened.suspect]
        return failure_issues(suspects, input_schema(self.entity.name), values, frame[SOURCE_COLUMN],
                              frame[ROW_COLUMN])

    def _once(self, warnings: list[str], message: str) -> None:
        if message not in self._told:
            self._told.add(message)
            logger.warning(message)
            warnings.append(message)

    def _missing_columns(self, raw: pd.DataFrame, missing: list[tuple[str, str]], source_name: str) -> pd.DataFrame:
        header = ", ".join(c for c in raw.columns if c not in BOOKKEEPING)
        parts = []
        for canonical, wanted in missing:
            named = f"'{canonical}'" if wanted == canonical else f"'{canonical}' (mapped from '{wanted}')"
            if self.entity.name == "users" and canonical == "user_key":
                named = "'organization_number'" if self.settings.users_key == "organization" else "'user_id' or 'username'"
            reason = f"required column {named} missing; header has: {header}; no row of this file was loaded"
            if reason in self._told:
                continue
            self._told.add(reason)
            parts.append(issue_frame([source_name], [None], [canonical], [None], [reason]))
        return concat_issues(parts)

    def _canonical_keys(self, values: pd.DataFrame) -> pd.DataFrame:
        out = values.copy(deep=False)
        for name in key_columns(self.entity):
            out[name] = normalize_key_text(values[name], fold_case=self.source.keys_case_insensitive)
        return out

    def _duplicate_issues(self, frame: pd.DataFrame, source_name: str, warnings: list[str]) -> pd.DataFrame:
        entity = self.entity
        required_parts = [c for c in entity.key if entity.field(c).required]
        keyed = frame
        if any(frame[c].hasnans for c in required_parts):
            keyed = frame[frame[required_parts].notna().all(axis=1).to_numpy()]
        rows = keyed[ROW_COLUMN].to_numpy()
        keys = keyed[list(entity.key)]
        hashes = key_hashes(keys)
        folded = folded_key_hashes(keys, hashes)
        if folded is not hashes and self._folded_keys is None:  # the first key that folds: the twin starts here
            self._folded_keys = self._keys.copy()
        duplicate, first_row = self._keys.check_hashes(hashes, rows)
        if self._folded_keys is None:  # no key folded yet: the folded keys are the keys, no look-alike possible
            look_alike = np.zeros(len(hashes), dtype=bool)
        else:
            look_alike, first_like = self._folded_keys.check_hashes(folded, rows)
            look_alike &= ~duplicate
        if look_alike.any():
            self._look_alike = int(look_alike.sum())
            warnings.append(self._look_alike_warning(source_name, keyed[look_alike], first_like[look_alike]))
        if not duplicate.any():
            return empty_issues()
        dupes = keyed[duplicate]
        key_text = [", ".join(f"{c}={v!r}" for c, v in zip(entity.key, values) if not pd.isna(v))
                    for values in dupes[list(entity.key)].itertuples(index=False)]
        reasons = [f"duplicate key {k}: row {r} came first and was kept, this row skipped (say which row to keep "
               f"with `dedupe: {{by, keep}}` in the mapping)" for k, r in zip(key_text, first_row[duplicate])]
        key_field = "+".join(entity.key)
        shown = dupes[entity.key[0]] if len(entity.key) == 1 else pd.Series(
            [" / ".join("" if pd.isna(v) else str(v) for v in t) for t in dupes[list(entity.key)].itertuples(index=False)])
        return issue_frame(dupes[SOURCE_COLUMN].to_numpy(), dupes[ROW_COLUMN].to_numpy(), key_field,
                           np.asarray(shown, dtype=object), reasons)


    def _look_alike_warning(self, source_name: str, rows: pd.DataFrame, first_rows: np.ndarray) -> str:
        """One WARN per batch: keys that load as separate records but differ only in case or spacing."""
        keys = rows[list(self.entity.key)].astype("string").fillna("").agg(" / ".join, axis=1)
        shown = [f"{k!r} (row {r}, like row {f})" for k, r, f in zip(keys[:5], rows[ROW_COLUMN][:5], first_rows[:5])]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        message = (f"{source_name}: {len(rows)} {self.entity.name} key(s) differ from an earlier key only in case or "
                   f"spacing and load as separate records: {', '.join(shown)}{more}. If the ERP means one record, "
                   "set `keys_case_insensitive: true` for this source in the mapping")
        logger.warning(message)
        return message


def _with_bookkeeping(raw: pd.DataFrame) -> pd.DataFrame:
    """Frames built by hand (tests, the API) may lack `_source`/`_row`: number them 1.. from here."""
    if SOURCE_COLUMN not in raw.columns:
        raw[SOURCE_COLUMN] = pd.Series("(frame)", index=raw.index, dtype="string[pyarrow]")
    if ROW_COLUMN not in raw.columns:
        raw[ROW_COLUMN] = pd.array(np.arange(1, len(raw) + 1), dtype="int64[pyarrow]")
    return raw


def _one_of_issues(entity: Entity, frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for group in entity.one_of:
        empty = frame[list(group)].isna().all(axis=1)
        if empty.any():
            rows = frame[empty]
            names = " or ".join(group)
            parts.append(issue_frame(rows[SOURCE_COLUMN].to_numpy(), rows[ROW_COLUMN].to_numpy(), "+".join(group),
                                     None, f"needs {names}; all are empty"))
    return concat_issues(parts)


def _explain_user_key(issues: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """An empty user_key means its sources were empty: say which (seed 000: "user_id or username")."""
    empty_key = (issues["field"] == "user_key") & (issues["reason"] == REQUIRED_REASON)
    if empty_key.any():
        reason = ("organization_number is empty (users_key: organization)" if settings.users_key == "organization"
                  else "user_id and username are both empty; one is required")
        issues.loc[empty_key.fillna(False), "reason"] = reason
    return issues


def _typed(entity: Entity, frame: pd.DataFrame, numbers: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Valid string values to model dtypes: parsing is done here in Arrow, so cast_frame only checks types.

    `numbers` are numeric columns already parsed (over every row of the batch `frame` was taken from).
    """
    numbers = numbers or {}
    columns = {}
    for f in entity.fields:
        column = frame[f.name]
        if f.kind is Kind.BOOLEAN:
            column = column == "true"
        elif f.name in numbers:
            parsed = numbers[f.name]
            column = parsed if len(parsed) == len(frame) else parsed.loc[frame.index]
        elif f.is_numeric:
            column = parse_number(column, integer=f.kind is Kind.INTEGER)
        columns[f.name] = column
    typed = cast_frame(entity, pd.DataFrame(columns, index=frame.index))
    for column in BOOKKEEPING:
        typed[column] = frame[column]
    return typed.reset_index(drop=True)


def _empty_valid(entity: Entity) -> pd.DataFrame:
    frame = cast_frame(entity, pd.DataFrame(index=pd.RangeIndex(0)))
    frame[SOURCE_COLUMN] = pd.Series([], dtype="string[pyarrow]")
    frame[ROW_COLUMN] = pd.Series([], dtype="int64[pyarrow]")
    return frame
