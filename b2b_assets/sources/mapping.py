"""The mapping file: where each entity's export lives and how its columns map to the model.

Seed 000 lets the vendor's field names differ "if a mapping layer is added";
this is that layer. One YAML file describes every inbound source::

    inbox: inbox                 # folder of export files, relative to this mapping file
    defaults: {encoding: utf-8, delimiter: auto}
    users_key: user              # user: user_id, else username | organization: one user per organization
    default_status: active       # status when the source leaves it empty (seed 000: "we should agree on the default")
    sources:
      organizations:
        file: customers.csv      # one file per entity; format from the extension
                                 # (.csv/.txt, .json, .jsonl/.ndjson) or `format: csv|json|jsonl`
        delimiter: "|"           # optional: sniffed from the header among , ; | TAB when `auto`
        encoding: cp1252         # optional: declared encoding (undeclared non-UTF-8 is read as cp1252, with a warning)
        columns:                 # canonical field: source column, or a spec
          organization_number: CustNo
          status: {from: Status, map: {A: active, I: inactive}}
          payment_type_ids: {from: PayTypes, split: ","}   # list fields: split, re-joined with "|"
        constants: {currency: EUR}   # value used when the source has no such column
        keys_case_insensitive: true  # optional: keys (and references) upper-cased, so c-1 and C-1 are one record
      locations:
        api: locations           # read from the partner GET API (seed 000 shape) instead of a file

Rules:

* A canonical column not listed under ``columns`` maps from a source column of
  the same name (compared ignoring case and surrounding spaces), so files
  already shaped like seed 000 need no ``columns`` at all.
* Source columns that map to nothing are ignored, with one warning per file.
* A spec's ``map`` replaces whole values (after trimming) before normalisation;
  values it does not list pass through unchanged.
* Every scalar is read as a string (YAML's ``yes``/``no``/``on`` stay text), so
  ``map: {Y: active, N: inactive}`` means what it says.

Anything wrong in the file raises :class:`MappingError` naming the file and the entry.
"""

from __future__ import annotations

from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from b2b_assets.model import ENTITY_BY_NAME, Entity, Kind

FORMATS = ("csv", "json", "jsonl")
EXTENSION_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
USERS_KEYS = ("user", "organization")
API_ENTITIES = ("organizations", "locations", "users")  # what the seed-000 partner API serves
DEFAULT_BATCH_ROWS = 100_000


class MappingError(ValueError):
    """The mapping file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical column comes from."""

    source: str  # source column name
    value_map: dict[str, str] = field(default_factory=dict)
    split: str | None = None  # list fields: separator used in the source


@dataclass(frozen=True)
class Settings:
    """Choices seed 000 leaves to the integrator."""

    users_key: str = "user"
    default_status: str = "active"


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file; `format=None` means by extension, `encoding=None` UTF-8 with a cp1252 fallback."""

    format: str | None = None
    delimiter: str | None = None  # None: sniff from the header
    encoding: str | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS


@dataclass(frozen=True)
class EntitySource:
    """One entity's source: a file (with read options) or the partner API, and its column mapping."""

    entity: str
    file: Path | None = None
    api: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    keys_case_insensitive: bool = False  # False: C-1 and c-1 are two records (and are reported as look-alikes)


@dataclass(frozen=True)
class Mapping:
    path: Path | None
    inbox: Path
    settings: Settings
    sources: dict[str, EntitySource]

    def source(self, entity: str) -> EntitySource:
        try:
            return self.sources[entity]
        except KeyError:
            raise KeyError(f"{self.path or 'mapping'} has no source for {entity!r}") from None


def default_source(entity: str) -> EntitySource:
    """The mapping an entity gets when nobody wrote one: same-named columns, sniffed CSV."""
    return EntitySource(entity=entity)


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read mapping file ({exc.strerror})") from None
    try:
        # BaseLoader keeps every scalar a string: no YAML 1.1 surprises ("NO" → False, "0012" → 12).
        document = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds plain str/list/dict only
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    return parse_mapping(document or {}, origin=path)


def parse_mapping(document: Any, origin: str | Path | None = None, base_dir: Path | None = None) -> Mapping:
    """Build a Mapping from an already-loaded document (used by load_mapping and by tests)."""
    where = str(origin) if origin else "mapping"
    if base_dir is None:
        base_dir = Path(origin).parent if origin else Path.cwd()
    _expect_dict(document, where, "top level")
    _no_unknown(document, {"inbox", "defaults", "users_key", "default_status", "sources"}, where, "top level")

    inbox = base_dir / str(document.get("inbox", "."))
    defaults = document.get("defaults", {}) or {}
    _expect_dict(defaults, where, "defaults")
    _no_unknown(defaults, {"encoding", "delimiter", "batch_rows", "keys_case_insensitive"}, where, "defaults")

    users_key = str(document.get("users_key", "user"))
    if users_key not in USERS_KEYS:
        raise MappingError(f"{where}: users_key: {users_key!r} is not one of {', '.join(USERS_KEYS)}")
    default_status = str(document.get("default_status", "active"))
    if default_status not in ENTITY_BY_NAME["organizations"].field("status").choices:
        raise MappingError(f"{where}: default_status: {default_status!r} is not one of active, inactive")

    sources_doc = document.get("sources", {}) or {}
    _expect_dict(sources_doc, where, "sources")
    sources = {name: _parse_source(name, spec, defaults, inbox, where) for name, spec in sources_doc.items()}
    return Mapping(path=Path(origin) if origin else None, inbox=inbox,
                   settings=Settings(users_key=users_key, default_status=default_status), sources=sources)


def _parse_source(name: str, spec: Any, defaults: dict, inbox: Path, where: str) -> EntitySource:
    entry = f"sources.{name}"
    if name not in ENTITY_BY_NAME:
        raise MappingError(f"{where}: {entry}: unknown entity {name!r}; known: {', '.join(ENTITY_BY_NAME)}")
    entity = ENTITY_BY_NAME[name]
    _expect_dict(spec, where, entry)
    _no_unknown(spec, {"file", "api", "format", "delimiter", "encoding", "batch_rows", "columns", "constants",
                       "keys_case_insensitive"}, where, entry)
    if ("file" in spec) == ("api" in spec):
        raise MappingError(f"{where}: {entry}: give exactly one of `file` or `api`")

    file = api = None
    read = ReadOptions()
    if "api" in spec:
        api = str(spec["api"])
        if api not in API_ENTITIES:
            raise MappingError(f"{where}: {entry}.api: {api!r} is not one of {', '.join(API_ENTITIES)}")
    else:
        file = inbox / str(spec["file"])
        read = _read_options(spec, defaults, file, where, entry)

    columns_doc = spec.get("columns", {}) or {}
    _expect_dict(columns_doc, where, f"{entry}.columns")
    columns = {canonical: _column_spec(entity, canonical, value, where, f"{entry}.columns.{canonical}")
               for canonical, value in columns_doc.items()}

    constants_doc = spec.get("constants", {}) or {}
    _expect_dict(constants_doc, where, f"{entry}.constants")
    for canonical, value in constants_doc.items():
        _known_field(entity, canonical, where, f"{entry}.constants.{canonical}")
        if not isinstance(value, str):
            raise MappingError(f"{where}: {entry}.constants.{canonical}: expected a single value")
    case_insensitive = _flag(spec.get("keys_case_insensitive", defaults.get("keys_case_insensitive", "false")),
                             where, f"{entry}.keys_case_insensitive")
    return EntitySource(entity=name, file=file, api=api, read=read, columns=columns, constants=dict(constants_doc),
                        keys_case_insensitive=case_insensitive)


def _flag(value: Any, where: str, entry: str) -> bool:
    if str(value).lower() not in ("true", "false"):
        raise MappingError(f"{where}: {entry}: {value!r} is not true or false")
    return str(value).lower() == "true"


def _read_options(spec: dict, defaults: dict, file: Path, where: str, entry: str) -> ReadOptions:
    fmt = spec.get("format") or EXTENSION_FORMATS.get(file.suffix.lower())
    if fmt not in FORMATS:
        raise MappingError(f"{where}: {entry}: cannot tell the format of {file.name!r}; "
                           f"add `format:` ({', '.join(FORMATS)})")
    delimiter = spec.get("delimiter", defaults.get("delimiter", "auto"))
    delimiter = {"auto": None, "tab": "\t", "\\t": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if delimiter is not None and len(delimiter) != 1:
        raise MappingError(f"{where}: {entry}.delimiter: {delimiter!r} must be one character, `tab` or `auto`")
    encoding = spec.get("encoding", defaults.get("encoding"))
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise MappingError(f"{where}: {entry}.encoding: unknown encoding {encoding!r}") from None
        if codecs.lookup(encoding).name == "utf-8" and "encoding" not in spec:
            # A utf-8 *default* is not a declaration about this file: keep the cp1252 fallback for it.
            encoding = None
    batch_rows = spec.get("batch_rows", defaults.get("batch_rows", DEFAULT_BATCH_ROWS))
    try:
        batch_rows = int(batch_rows)
        if batch_rows < 1:
            raise ValueError
    except ValueError:
        raise MappingError(f"{where}: {entry}.batch_rows: {batch_rows!r} is not a positive integer") from None
    return ReadOptions(format=fmt, delimiter=delimiter, encoding=encoding, batch_rows=batch_rows)


def _column_spec(entity: Entity, canonical: str, value: Any, where: str, entry: str) -> ColumnSpec:
    f = _known_field(entity, canonical, where, entry)
    if isinstance(value, str):
        return ColumnSpec(source=value)
    _expect_dict(value, where, entry)
    _no_unknown(value, {"from", "map", "split"}, where, entry)
    if not isinstance(value.get("from"), str):
        raise MappingError(f"{where}: {entry}: a column spec needs `from: <source column>`")
    value_map = value.get("map", {}) or {}
    _expect_dict(value_map, where, f"{entry}.map")
    if not all(isinstance(v, str) for v in value_map.values()):
        raise MappingError(f"{where}: {entry}.map: values must be single values")
    split = value.get("split")
    if split is not None:
        if f.kind is not Kind.LIST:
            raise MappingError(f"{where}: {entry}.split: {canonical!r} is not a list field")
        if not isinstance(split, str) or not split:
            raise MappingError(f"{where}: {entry}.split: expected a separator string")
    return ColumnSpec(source=value["from"], value_map={str(k).strip(): v for k, v in value_map.items()}, split=split)


def _known_field(entity: Entity, canonical: str, where: str, entry: str):
    try:
        return entity.field(canonical)
    except KeyError:
        raise MappingError(f"{where}: {entry}: {entity.name} has no field {canonical!r}; "
                           f"fields: {', '.join(entity.columns)}") from None


def _expect_dict(value: Any, where: str, entry: str) -> None:
    if not isinstance(value, AbstractMapping):
        raise MappingError(f"{where}: {entry}: expected a mapping (key: value), got {type(value).__name__}")


def _no_unknown(value: AbstractMapping, allowed: set[str], where: str, entry: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise MappingError(f"{where}: {entry}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
