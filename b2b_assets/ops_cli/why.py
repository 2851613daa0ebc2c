"""`b2b-sync why KEY`: one record's story, from the export to every target.

- the export: which file and row hold the key, read again through the
  project's own readers and mapping (`sources.validate.source_frames`,
  `apply_mapping`, `FilePreparer`), and for a row that would be quarantined
  which field and why;
- the hub: which entity, whether the latest full export still had it, when it
  was loaded, its row hash; or, held back, the reference it waits for;
- every target object whose ledger has the key: state, payload hash, first
  sent, confirmed, last attempt, attempts, open job, and the target's full
  message when it refused it; and the target objects that read the entity but
  have never planned the record.

A composite key may be written with any readable separator (`KT-1403/DIST/EA`,
`KT-1403 | DIST | EA`); every spelling is looked up. Found anywhere: exit 0.
Unknown everywhere: exit 1, with keys that start like it (case ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from b2b_assets.model import ENTITIES, Entity, entity as entity_named
from b2b_assets.sources import Mapping
from b2b_assets.sources.columns import apply_mapping
from b2b_assets.sources.issues import IssueLog, concat_issues
from b2b_assets.sources.keys import normalize_key_text
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN
from b2b_assets.sources.validate import FilePreparer, source_frames
from b2b_assets.store import Store
from b2b_assets.store import story
from b2b_assets.store.tables import IN_SOURCE, LOADED_AT, ROW_HASH
from b2b_assets.targets.core.contract import KEY_SEPARATOR, Target

# How people write a composite key's parts apart: "KT-1403/DIST/EA", "KT-1403 | DIST | EA", "a, b", tabs.
SEPARATORS = re.compile(r"\s*[/|,;\t]\s*")


@dataclass
class ExportRow:
    entity: str
    source: str
    row: int
    issues: list[tuple[str, str, str]] = field(default_factory=list)  # field, value, reason: quarantined if any


@dataclass
class Story:
    asked: str
    keys: list[str]  # the record keys looked up (every spelling of what was asked)
    export: list[ExportRow] = field(default_factory=list)
    export_notes: list[str] = field(default_factory=list)
    hub: list[tuple[str, dict]] = field(default_factory=list)  # (entity, hub row)
    held: pd.DataFrame = field(default_factory=pd.DataFrame)
    ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    never_planned: list[str] = field(default_factory=list)  # target/object that read the entity, no ledger row
    suggestions: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.export or self.hub or len(self.held) or len(self.ledger))


def spellings(asked: str) -> list[str]:
    """The record keys `asked` may mean: as typed, and with any readable separator as the key separator."""
    text = asked.strip()
    keys = [text]
    parts = SEPARATORS.split(text)
    if len(parts) > 1:
        keys.append(KEY_SEPARATOR.join(parts))
    return keys


def readable(key: str) -> str:
    return key.replace(KEY_SEPARATOR, " / ")


def tell(store: Store, mapping: Mapping, targets: tuple[Target, ...], asked: str,
         entity_name: str | None = None) -> Story:
    keys = spellings(asked)
    result = Story(asked, keys)
    entities = [entity_named(entity_name)] if entity_name else list(ENTITIES)
    names = {e.name for e in entities}
    for ent in entities:
        for key in keys:
            row = story.hub_record(store.engine, ent, key.split(KEY_SEPARATOR))
            if row is not None:
                result.hub.append((ent.name, row))
    held = story.held_rows(store.engine, keys)
    result.held = held[held["entity"].isin(names)].reset_index(drop=True)
    objects = {(t.name, o.name): o for t in targets for o in t.objects}
    ledger = story.ledger_rows(store.engine, keys)
    primary = ledger.apply(lambda r: objects[(r.target, r.entity)].source_entities[0]
                           if (r.target, r.entity) in objects else "", axis=1) if len(ledger) else pd.Series([], dtype=str)
    result.ledger = ledger[primary.isin(names)].reset_index(drop=True) if entity_name else ledger

    found_in = {name for name, _ in result.hub} | set(result.held["entity"]) | set(primary[primary.isin(names)])
    # The export is read again only for the entities the store knows the key in, or, when it knows it nowhere,
    # for every mapped entity whose key has as many parts: the key may be in the export and not loaded yet.
    scan = [e for e in entities if e.name in found_in] or [
        e for e in entities if any(len(k.split(KEY_SEPARATOR)) == len(e.key) for k in keys)]
    for ent in scan:
        rows, note = export_rows(mapping, ent, keys)
        result.export += rows
        if note and (ent.name in found_in or entity_name):
            result.export_notes.append(note)

    seen = set(zip(result.ledger["target"], result.ledger["entity"])) if len(result.ledger) else set()
    in_hub = {name for name, _ in result.hub}
    result.never_planned = [f"{t.key_prefix}/{o.name}" for t in targets for o in t.objects
                            if o.source_entities[0] in in_hub and (t.name, o.name) not in seen]
    if not result.found:
        result.suggestions = story.similar_keys(store.engine, SEPARATORS.split(asked.strip())[0])
    return result


def export_rows(mapping: Mapping, ent: Entity, keys: list[str]) -> tuple[list[ExportRow], str | None]:
    """The rows of the entity's export whose key is one of `keys`, each with the issues that quarantine it.

    The rows are read, mapped and validated exactly as a run does it (the same preparer, batch by batch,
    so a duplicate is found as the run finds it); only the matching rows are kept.
    """
    source = mapping.source(ent.name)
    if source is None:
        return [], f"{ent.name} is not in the mapping: not synced"
    if source.api:
        return [], f"{ent.name} comes from the partner API ({source.api}): its rows are not re-read here"
    absent = [f.name for f in source.files if not f.exists()]
    if absent:
        return [], f"{ent.name}: no export file {absent[0]} in the inbox"
    log = IssueLog()
    preparer = FilePreparer(ent, source, mapping.settings)
    frames, _ = source_frames(source, log)
    found: list[ExportRow] = []
    for raw in frames:
        raw = raw.reset_index(drop=True)
        mapped = apply_mapping(ent, raw, source, mapping.settings)
        issues = concat_issues([log.take(), preparer.prepare(raw).issues])
        if mapped.missing_required:
            continue
        values = mapped.frame
        joined = None
        for column in ent.key:  # the raw text of each key part, spelled as the run spells keys
            part = normalize_key_text(values[column], fold_case=source.keys_case_insensitive).fillna("")
            joined = part if joined is None else joined + KEY_SEPARATOR + part
        hits = values[joined.isin(keys).to_numpy()]
        for where, row in zip(hits[SOURCE_COLUMN], hits[ROW_COLUMN]):
            mine = issues[(issues["source"] == where) & (issues["row_number"] == row)]
            found.append(ExportRow(ent.name, str(where), int(row), [
                (_text(i.field), _text(i.value), _text(i.reason)) for i in mine.itertuples(index=False)]))
    return found, None


def render(s: Story) -> list[str]:
    lines = [f"{readable(s.asked)}"]
    if not s.found:
        lines.append("  not in the export, the quarantine, the hub or any target's ledger")
        if s.suggestions:
            lines.append(f"  did you mean: {', '.join(s.suggestions)}")
        return lines

    lines.append("Export:")
    for row in s.export:
        if row.issues:
            for name, value, reason in row.issues:
                lines.append(f"  {row.entity}: {row.source} row {row.row}: quarantined: {name or '(row)'} "
                             f"= {value!r}: {reason}")
        else:
            lines.append(f"  {row.entity}: {row.source} row {row.row}: valid")
    lines += [f"  {note}" for note in s.export_notes]
    if not s.export and not s.export_notes:
        lines.append("  in no export file the mapping names (the hub keeps what an earlier export had)")

    lines.append("Hub:")
    for name, row in s.hub:
        presence = "in the latest export" if row[IN_SOURCE] else "NOT in the latest full export (kept, not deleted)"
        lines.append(f"  {name}: {presence}; loaded {_stamp(row[LOADED_AT])}; row hash {row[ROW_HASH]}")
    for h in s.held.itertuples(index=False):
        lines.append(f"  {h.entity}: HELD back since {_stamp(h.first_held_at)} ({h.attempts} attempts, last "
                     f"{_stamp(h.last_tried_at)}): {h.reason}")
    if not s.hub and not len(s.held):
        lines.append("  not in the hub")

    lines.append("Targets:")
    for r in s.ledger.itertuples(index=False):
        lines.append(f"  {r.target}/{r.entity} ({readable(r.record_key)}): {r.state}; payload hash {r.payload_hash}; "
                     f"attempts {r.attempts}; first sent {_stamp(r.first_sent_at)}; confirmed {_stamp(r.confirmed_at)}; "
                     f"last attempt {_stamp(r.last_attempt_at)}" + (f"; job {r.job_id}" if r.job_id else ""))
        if _text(r.last_error):
            lines.append(f"    {r.state} with: {r.last_error}")
    for name in s.never_planned:
        lines.append(f"  {name}: no ledger entry: no run has planned it for this target yet")
    if not len(s.ledger) and not s.never_planned:
        lines.append("  no target has planned it")
    return lines


def _text(value) -> str:  # noqa: ANN001
    return "" if value is None or pd.isna(value) else str(value)


def _stamp(value) -> str:  # noqa: ANN001
    if value is None or pd.isna(value):
        return "never"
    stamp = pd.Timestamp(value)
    return f"{(stamp.tz_localize('UTC') if stamp.tzinfo is None else stamp.tz_convert('UTC')):%Y-%m-%d %H:%M:%S} UTC"
