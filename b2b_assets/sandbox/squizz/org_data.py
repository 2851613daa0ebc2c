"""How an accepted ESD document changes an organisation's stored records.

Rules (seed 004 and VENDOR_API_NOTES.md; the sandbox's reading where they are silent):

- Upsert by the type's key; sending a record twice never duplicates it.
- `dataFields`: a listed field is saved (the record's value, or the table's default when
  the record leaves it out); an unlisted field keeps its stored value, and is not saved at
  all on a new record. Key fields are always saved.
- `dataTransferMode` COMPLETE also deactivates every stored record of the type the upload
  does not contain; INCREMENT and INCREMENT_AVAILABLE touch only what is sent. Any record
  sent again is active again. `drop` 3 deactivates the record, `drop` 4 leaves it alone.
- References are checked against what was imported before ("a reference to something not
  yet imported is not assigned"); a type's references to itself (a sell unit's parent) may
  also point into the same upload. An unknown reference in an ordinary field is stored as
  null (unknown ids are left out of id lists) and listed under the record's
  `unassigned_references`. An unknown reference in a key field (a price's product, price
  level or sell unit; an account price's account; an alternate code's or stock quantity's
  product) leaves nothing to save the record against: the record is not stored and is
  listed in the import's `unassigned`. The same holds for nested entries keyed by a
  reference (a location's stock line for an unknown product, a product's sell unit that
  was never imported).
- A nested list with its own fields config (locations' productStock) is upserted per
  entry, i.e. per (location, product); one without (products' sellUnits) belongs to the
  record and is replaced whole when `dataFields` lists it.
- Stock quantities (type 10) also set the product's `stockQuantity`.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b2b_assets.sandbox.squizz.import_types import DROP_DELETE, DROP_IGNORE, IMPORT_TYPES, RECORD_LIST, ImportType
from b2b_assets.sandbox.squizz.validation import EsdDocument

Key = tuple[Any, ...]


def record_key(import_type: ImportType, record: Mapping[str, Any]) -> Key:
    """The upsert key; integral numbers are normalised so 5 and 5.0 are one quantity break."""
    return tuple(_canonical(record.get(name)) for name in import_type.key)


def key_text(key: Key) -> str:
    return json.dumps(list(key))


def key_from_text(text: str) -> Key:
    return tuple(json.loads(text))


@dataclass
class ImportOutcome:
    """What an import changed: keys per type (for persistence) and records not stored.

    `touched` keeps keys in the order they were first changed (a dict used as an ordered
    set), so persisted rows load back in the order the records were created.
    """

    touched: dict[int, dict[Key, None]] = field(default_factory=lambda: defaultdict(dict))
    unassigned: list[dict[str, Any]] = field(default_factory=list)

    def touch(self, type_id: int, key: Key) -> None:
        self.touched[type_id][key] = None


class OrgData:
    """The organisation's stored records, one table per import type.

    A stored record is a JSON-able dict: `fields`, `active`, `unassigned_references`, and
    for types with per-entry nested lists, `entries` (list name → entry key → entry).
    """

    def __init__(self) -> None:
        self.tables: dict[int, dict[Key, dict[str, Any]]] = {type_id: {} for type_id in IMPORT_TYPES}
        self.price_groups: dict[str, list[str]] = {}

    def read_back(self, type_id: int) -> list[dict[str, Any]]:
        """The stored records of a type as a client would want to inspect them."""
        rows = []
        for stored in self.tables[type_id].values():
            row = copy.deepcopy(stored["fields"])
            for name, entries in stored.get("entries", {}).items():
                row[name] = copy.deepcopy(list(entries.values()))
            row["active"] = stored["active"]
            row["unassigned_references"] = copy.deepcopy(stored["unassigned_references"])
            rows.append(row)
        return rows

    def apply(self, document: EsdDocument) -> ImportOutcome:
        """Apply an accepted document; see the module docstring for the rules."""
        import_type = document.import_type
        table = self.tables[import_type.type_id]
        outcome = ImportOutcome()
        keys = [record_key(import_type, record) for record in document.records]
        resolver = _Resolver(self, import_type, keys)
        group_gaps = self._store_price_groups(document, resolver)
        sent = set(keys)
        written = _written_fields(document)
        for index, (key, record) in enumerate(zip(keys, document.records)):
            operation = record.get("drop") or 0
            if operation == DROP_IGNORE:
                continue
            stored = table.get(key)
            if operation == DROP_DELETE:
                if stored is not None and stored["active"]:
                    stored["active"] = False
                    outcome.touch(import_type.type_id, key)
                continue
            missing = resolver.unknown_key_references(record)
            if missing:
                outcome.unassigned += [_unassigned(import_type, index, record, name, value) for name, value in missing]
                continue
            if stored is None:
                stored = table[key] = _new_stored(import_type, record)
            stored["active"] = True
            _write_fields(stored, record, written, resolver)
            _write_nested(stored, record, document, resolver, outcome, index)
            if import_type.price_group_member_type:
                _note_price_group_gaps(stored, record, group_gaps)
            outcome.touch(import_type.type_id, key)
            self._mirror(import_type, document, stored, outcome)
        if document.mode == "COMPLETE":
            for key, stored in table.items():
                if key not in sent and stored["active"]:
                    stored["active"] = False
                    outcome.touch(import_type.type_id, key)
        return outcome

    def _store_price_groups(self, document: EsdDocument, resolver: "_Resolver") -> dict[str, list[str]]:
        """Save the document's price groups with their known members; return unknown members."""
        member_type = document.import_type.price_group_member_type
        gaps = {}
        for group, members in document.price_groups.items():
            known, unknown = resolver.resolve(member_type, members)
            self.price_groups[group] = known
            if unknown:
                gaps[group] = unknown
        return gaps

    def _mirror(self, import_type: ImportType, document: EsdDocument, stored: dict[str, Any], outcome: ImportOutcome) -> None:
        mirror = import_type.mirror
        if mirror is None:
            return
        target_key = (stored["fields"][mirror.via],)
        target = self.tables[mirror.target_type_id].get(target_key)
        for source, destination in mirror.fields.items():
            if target is not None and source in document.listed:
                target["fields"][destination] = stored["fields"][source]
                outcome.touch(mirror.target_type_id, target_key)


class _Resolver:
    """Answers "was this id imported before?" for one document."""

    def __init__(self, data: OrgData, import_type: ImportType, keys: Iterable[Key]):
        self._data = data
        self._import_type = import_type
        # A type's references to itself may point into the upload (a sell unit's parent): `keys` are its records'.
        self._own_ids = set(keys)

    def exists(self, type_id: int, value: Any) -> bool:
        key = (_canonical(value),)
        return key in self._data.tables[type_id] or (type_id == self._import_type.type_id and key in self._own_ids)

    def resolve(self, type_id: int, value: Any) -> tuple[Any, Any]:
        """(value to store, unknown ids or None): unknown scalars become None."""
        if isinstance(value, list):
            known = [item for item in value if self.exists(type_id, item)]
            unknown = [item for item in value if not self.exists(type_id, item)]
            return known, unknown or None
        if _is_blank(value) or self.exists(type_id, value):
            return value, None
        return None, value

    def unknown_key_references(self, record: Mapping[str, Any]) -> list[tuple[str, Any]]:
        references = self._import_type.references
        return [
            (name, record[name])
            for name in self._import_type.key
            if name in references and not _is_blank(record.get(name)) and not self.exists(references[name], record[name])
        ]


def _new_stored(import_type: ImportType, record: Mapping[str, Any]) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "fields": {name: _canonical(record[name]) for name in import_type.key if record.get(name) is not None},
        "active": True,
        "unassigned_references": {},
    }
    if import_type.nested_fields_config:
        stored["entries"] = {name: {} for name in import_type.nested_key}
    return stored


def _written_fields(document: EsdDocument) -> list[tuple[str, Any, int | None]]:
    """(field, default, referenced type or None) for each plain field the document writes, in table order
    (not set order, so read-back shows fields in a stable order). Once per document, not per record."""
    import_type = document.import_type
    return [(name, spec.default, import_type.references.get(name)) for name, spec in import_type.fields.items()
            if name in document.listed and name not in import_type.key and spec.kind != RECORD_LIST]


def _write_fields(stored: dict[str, Any], record: Mapping[str, Any], written: list[tuple[str, Any, int | None]],
                  resolver: _Resolver) -> None:
    fields = stored["fields"]
    for name, default, referenced in written:
        value = _value_or_default(record, name, default)
        if referenced is not None:
            value, unknown = resolver.resolve(referenced, value)
            _set_gap(stored, name, unknown)
        fields[name] = value


def _write_nested(
    stored: dict[str, Any],
    record: Mapping[str, Any],
    document: EsdDocument,
    resolver: _Resolver,
    outcome: ImportOutcome,
    index: int,
) -> None:
    import_type = document.import_type
    for name, entry_key in import_type.nested_key.items():
        managed = document.managed_nested_fields(name)
        if managed is None:
            continue
        specs = import_type.fields[name].nested
        written = [field_name for field_name in specs if field_name in managed or field_name == entry_key]
        references = import_type.nested_references.get(name, {})
        gaps: dict[str, list[Any]] = defaultdict(list)
        kept = []
        for entry in record.get(name) or []:
            values = {field_name: _value_or_default(entry, field_name, specs[field_name].default) for field_name in written}
            for field_name, type_id in references.items():
                if field_name in values:
                    values[field_name], unknown = resolver.resolve(type_id, values[field_name])
                    if unknown is not None:
                        gaps[field_name].append(unknown)
            if values[entry_key] is None:
                # The entry's own id was never imported: there is nothing to attach it to.
                outcome.unassigned.append(_unassigned(import_type, index, record, f"{name}.{entry_key}", entry.get(entry_key)))
                continue
            kept.append(values)
        if import_type.nested_fields_config:
            entries = stored["entries"][name]
            for values in kept:
                entries.setdefault(values[entry_key], {}).update(values)
        else:
            stored["fields"][name] = kept
        for field_name in references:
            _set_gap(stored, f"{name}.{field_name}", gaps.get(field_name))


def _note_price_group_gaps(stored: dict[str, Any], record: Mapping[str, Any], group_gaps: Mapping[str, list[str]]) -> None:
    gaps = stored["unassigned_references"]
    for label in [label for label in gaps if label.startswith("priceGroups.")]:
        del gaps[label]
    group = record.get("keyPriceGroupID")
    if group in group_gaps:
        gaps[f"priceGroups.{group}"] = group_gaps[group]


def _set_gap(stored: dict[str, Any], label: str, unknown: Any) -> None:
    if unknown is None:
        stored["unassigned_references"].pop(label, None)
    else:
        stored["unassigned_references"][label] = unknown


def _unassigned(import_type: ImportType, index: int, record: Mapping[str, Any], field_name: str, value: Any) -> dict[str, Any]:
    return {"record": index, "key": import_type.display_key(record), "field": field_name, "value": value}


def _value_or_default(record: Mapping[str, Any], name: str, default: Any) -> Any:
    value = record.get(name)
    if value is not None:
        return _canonical(value)
    # List defaults are copied so stored records never share one list object.
    return list(default) if isinstance(default, list) else default


def _canonical(value: Any) -> Any:
    """Numbers as JSON-ready ints and floats. A float holds an accepted Decimal exactly: a valid
    DECIMAL 14.4 has at most 14 significant digits, and a float's shortest spelling keeps 15."""
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
