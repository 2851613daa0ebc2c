"""Self-consistency of the bundled sample ERP export.

These tests read `data/inbox` with the standard library and the model only, not
with `b2b_assets.sources` (the readers are tested against the same files
elsewhere). They check that:

- `data/mapping.yaml` names one existing file for every canonical entity;
- `data/sample_expectations.json` counts the rows each file really has;
- every quarantined row it lists exists and really breaks a rule of the model
  in the field it names, and no other row breaks one (so the expected counts
  are exact, not approximate);
- the held and dangling records it lists are exactly the valid rows whose
  required (HOLD) / optional (WARN) references point at nothing valid, which
  in particular means every organization_number of a non-orphan location or
  user exists in organizations.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from pathlib import Path

import pycountry
import pytest
import yaml

from b2b_assets.model import ENTITIES, ENTITY_BY_NAME, Entity, Kind, OnMissing

DATA = Path(__file__).resolve().parents[1] / "data"
MAPPING = yaml.safe_load((DATA / "mapping.yaml").read_text(encoding="utf-8"))
INBOX = DATA / MAPPING.get("inbox", "inbox")
EXPECTED = json.loads((DATA / "sample_expectations.json").read_text(encoding="utf-8"))["entities"]

TRUE = {"true", "y", "yes", "1", "t"}
FALSE = {"false", "n", "no", "0", "f"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def source(name: str) -> dict:
    return MAPPING["sources"][name]


def read_rows(name: str) -> list[dict | None]:
    """Raw rows of an entity's file as {source column: text}; None for a row that cannot be parsed."""
    src = source(name)
    path = INBOX / src["file"]
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        lines = path.read_text(encoding=src.get("encoding", "utf-8")).splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    if suffix == ".json":
        return json.loads(path.read_text(encoding=src.get("encoding", "utf-8")))
    encoding = src.get("encoding", MAPPING["defaults"]["encoding"])
    text = path.read_bytes().decode("utf-8-sig" if encoding.replace("_", "-").lower() == "utf-8" else encoding)
    delimiter = src.get("delimiter", MAPPING["defaults"].get("delimiter", "auto"))
    if delimiter == "auto":
        delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;|\t").delimiter
    header, *body = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [dict(zip(header, row)) if len(row) == len(header) else None for row in body]


def canonical(entity: Entity, raw: dict) -> dict:
    """Apply the mapping's `columns` the way the mapping format defines it."""
    columns = source(entity.name).get("columns", {})
    out: dict = {}
    for f in entity.fields:
        spec = columns.get(f.name, f.name)
        if isinstance(spec, str):
            value = raw.get(spec)
        else:
            value = raw.get(spec["from"])
            if value is not None and "map" in spec:
                value = spec["map"].get(str(value), value)
            if value not in (None, "") and "split" in spec:
                value = "|".join(v.strip() for v in str(value).split(spec["split"]))
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[f.name] = None if value is None or str(value).strip() == "" else str(value)
    constants = source(entity.name).get("constants", {})
    out.update({k: str(v) for k, v in constants.items() if out.get(k) is None})
    if entity.name == "users":
        out["user_key"] = out["user_id"] or out["username"] or out["organization_number"]
    return out


def broken_fields(entity: Entity, record: dict) -> set[str]:
    """Fields of one record that break the model's rules (a small, independent validator)."""
    bad: set[str] = set()
    for f in entity.fields:
        value = record.get(f.name)
        if value is None:
            if f.required:
                bad.add(f.name)
            continue
        if f.max_length is not None and f.kind not in (Kind.COUNTRY,) and len(value) > f.max_length:
            bad.add(f.name)
        if f.kind is Kind.ENUM and value not in f.choices:
            bad.add(f.name)
        elif f.kind is Kind.BOOLEAN and value.lower() not in TRUE | FALSE:
            bad.add(f.name)
        elif f.kind is Kind.EMAIL and not EMAIL.match(value):
            bad.add(f.name)
        elif f.kind is Kind.CURRENCY and pycountry.currencies.get(alpha_3=value.upper()) is None:
            bad.add(f.name)
        elif f.kind is Kind.COUNTRY:
            try:
                pycountry.countries.lookup(value)
            except LookupError:
                bad.add(f.name)
        elif f.is_numeric:
            try:
                number = float(value)
            except ValueError:
                bad.add(f.name)
                continue
            if math.isnan(number) or (f.minimum is not None and (
                    number < f.minimum or (f.exclusive_minimum and number == f.minimum))) or (
                    f.maximum is not None and number > f.maximum):
                bad.add(f.name)
    for group in entity.one_of:
        if all(record.get(c) is None for c in group):
            bad.add("+".join(group))
    return bad


def analyse(name: str) -> tuple[int, list[tuple[int, str | None]], dict[tuple, dict]]:
    """(rows in file, [(row, field)] that fail, {key: record} of the valid rows)."""
    entity = ENTITY_BY_NAME[name]
    rows = read_rows(name)
    failures: list[tuple[int, str | None]] = []
    valid: dict[tuple, dict] = {}
    for number, raw in enumerate(rows, start=1):
        if raw is None:
            failures.append((number, None))
            continue
        record = canonical(entity, raw)
        broken = broken_fields(entity, record)
        key = tuple(record[c] for c in entity.key)
        if not broken and key in valid:
            broken = {entity.key[0]} if len(entity.key) == 1 else {"+".join(entity.key)}
        failures.extend((number, field) for field in sorted(broken))
        if not broken:
            valid[key] = record
    return len(rows), failures, valid


ANALYSIS = {e.name: analyse(e.name) for e in ENTITIES}


def key_dict(entity: Entity, key: tuple) -> dict:
    return dict(zip(entity.key, key))


def test_mapping_lists_one_existing_file_per_entity() -> None:
    assert set(MAPPING["sources"]) == set(ENTITY_BY_NAME)
    files = [src["file"] for src in MAPPING["sources"].values()]
    assert len(files) == len(set(files))
    for file in files:
        assert (INBOX / file).is_file(), file
    assert {p.name for p in INBOX.iterdir()} == set(files), "every inbox file is mapped"
    for name, src in MAPPING["sources"].items():
        for column in src.get("columns", {}):
            assert column in ENTITY_BY_NAME[name].columns, f"{name}.{column} is not a canonical field"


def test_expectations_cover_every_entity() -> None:
    assert set(EXPECTED) == set(ENTITY_BY_NAME)
    for name, exp in EXPECTED.items():
        assert exp["file"] == source(name)["file"]


@pytest.mark.parametrize("name", [e.name for e in ENTITIES])
def test_row_counts_match_the_files(name: str) -> None:
    rows, _, _ = ANALYSIS[name]
    exp = EXPECTED[name]
    assert exp["rows_in_file"] == rows
    assert exp["valid"] == rows - len(exp["quarantined_rows"])
    assert exp["hub_rows"] == exp["valid"] - len(exp["held"])


@pytest.mark.parametrize("name", [e.name for e in ENTITIES])
def test_quarantined_rows_are_exactly_the_broken_rows(name: str) -> None:
    rows, failures, _ = ANALYSIS[name]
    exp = EXPECTED[name]
    listed = [(q["row"], q["field"]) for q in exp["quarantined_rows"]]
    for q in exp["quarantined_rows"]:
        assert q["file"] == exp["file"]
        assert 1 <= q["row"] <= rows
    assert len({r for r, _ in listed}) == len(listed), "one entry per bad row"
    assert sorted(failures, key=str) == sorted(listed, key=str)


def test_the_deliberate_problems_are_spread_and_distinct() -> None:
    problems = [q for exp in EXPECTED.values() for q in exp["quarantined_rows"]]
    assert 10 <= len(problems) <= 14
    assert len({q["kind"] for q in problems}) == len(problems)
    assert len({q["file"] for q in problems}) >= 10


def _reference_outcomes() -> tuple[dict[str, list], dict[str, list]]:
    held: dict[str, list] = {}
    dangling: dict[str, list] = {}
    valid_keys = {name: set(valid) for name, (_, _, valid) in ANALYSIS.items()}
    for entity in ENTITIES:
        _, _, valid = ANALYSIS[entity.name]
        for key, record in valid.items():
            missing_hold, missing_warn = [], []
            for ref in entity.references:
                values = [record[c] for c in ref.columns]
                if all(v is None for v in values):
                    continue
                if ref.many:
                    gone = [v for v in values[0].split("|") if (v,) not in valid_keys[ref.entity]]
                else:
                    gone = [] if tuple(values) in valid_keys[ref.entity] else [tuple(values)]
                if gone:
                    (missing_hold if ref.on_missing is OnMissing.HOLD else missing_warn).append(ref.name)
            if missing_hold:
                held.setdefault(entity.name, []).append(key_dict(entity, key))
            elif missing_warn:
                dangling.setdefault(entity.name, []).append(key_dict(entity, key))
    return held, dangling


def test_held_and_dangling_records_are_exactly_the_unresolved_references() -> None:
    held, dangling = _reference_outcomes()
    for name, exp in EXPECTED.items():
        assert sorted(map(str, held.get(name, []))) == sorted(map(str, exp["held"])), name
        assert sorted(map(str, dangling.get(name, []))) == sorted(map(str, (d["key"] for d in exp["dangling"]))), name


def test_non_orphan_locations_and_users_point_at_existing_organizations() -> None:
    organizations = {k[0] for k in ANALYSIS["organizations"][2]}
    orphans = {json.dumps(k, sort_keys=True) for name in ("locations", "users") for k in EXPECTED[name]["held"]}
    for name in ("locations", "users"):
        entity = ENTITY_BY_NAME[name]
        for key, record in ANALYSIS[name][2].items():
            if json.dumps(key_dict(entity, key), sort_keys=True) not in orphans:
                assert record["organization_number"] in organizations, (name, key)


def test_the_sample_exercises_the_formats() -> None:
    raw = {name: (INBOX / source(name)["file"]).read_bytes() for name in ENTITY_BY_NAME}
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values()), "one file with a UTF-8 BOM"
    assert any(src.get("encoding", "").lower() == "cp1252" for src in MAPPING["sources"].values())
    assert {Path(src["file"]).suffix for src in MAPPING["sources"].values()} >= {".csv", ".json", ".jsonl", ".txt"}
    assert source("organizations")["delimiter"] == "|"
    orgs = ANALYSIS["organizations"][2]
    assert Counter(r["status"] for r in orgs.values()) == Counter(active=23, inactive=2)
    # multi-location organizations: a bill-to plus several ship-to locations
    per_org = Counter(k[0] for k in ANALYSIS["locations"][2])
    assert max(per_org.values()) >= 4
    assert len(per_org) >= len(orgs)
