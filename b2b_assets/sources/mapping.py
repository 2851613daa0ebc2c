"""The mapping file: where each entity's export lives and how its columns map to the model.

Seed 000 lets the vendor's field names differ "if a mapping layer is added";
this is that layer. One YAML file describes every inbound source::

    inbox: inbox                 # folder of export files, relative to this mapping file
    defaults: {encoding: utf-8, delimiter: auto}
    users_key: user              # user: user_id, else username | organization: one user per organization
    default_status: active       # status when the source leaves it empty (seed 000: "we should agree on the default")
    country_aliases: {Bharat: IN}   # extra country spellings, on top of pycountry and the built-in aliases
    sources:
      organizations:
        file: customers.csv      # or a list of files (their rows are unioned); format from the extension
                                 # (.csv/.txt, .json, .jsonl/.ndjson) or `format: csv|json|jsonl`
        delimiter: "|"           # optional: sniffed from the header among , ; | TAB when `auto`
        encoding: cp1252         # optional: declared encoding (undeclared non-UTF-8 is read as cp1252, with a warning)
        match_by_name: true      # canonical fields not listed under `columns` come from same-named columns
        columns:                 # canonical field: source column, or a spec
          organization_number: CustNo
          status: {from: Status, map: {A: active, I: inactive}}
          payment_type_ids: {from: PayTypes, split: ","}   # list fields: split, re-joined with "|"
          organization_name: {expr: "trim(Name1) || ' ' || trim(Name2)"}   # a DuckDB SQL expression
        constants: {currency: EUR}   # a fixed value; always wins over a same-named source column
        keys_case_insensitive: true  # optional: keys (and references) upper-cased, so c-1 and C-1 are one record
        optional: true           # an export may lack this file: the run skips the entity (the hub keeps what it
                                 # has) instead of failing erp/<entity>
      locations:
        api: locations           # read from the partner GET API (seed 000 shape) instead of a file
      price_levels:
        rows: [{price_level_id: RETAIL, description: Retail}]   # inline reference rows

The transform keys (`filter`, `lookup`, `unpivot`, `dedupe`, `query`/`tables`,
and `expr` columns) are compiled to DuckDB SQL by `sources/transform.py`; the
README documents each with a worked example.

Rules:

* Explicit beats implicit: a field under ``columns``, ``unpivot`` or
  ``constants`` is never taken from a same-named source column. Other
  canonical fields map from a source column of the same name (ignoring case and
  surrounding spaces) unless ``match_by_name: false``.
* Source columns that map to nothing are ignored, with one warning per file.
* A spec's ``map`` replaces whole values (after trimming) before normalisation;
  values it does not list pass through unchanged.
* Every scalar is read as a string (YAML's ``yes``/``no``/``on`` stay text), so
  ``map: {Y: active, N: inactive}`` means what it says.

Everything wrong in the file is collected and raised at once as one
:class:`MappingError`, each problem naming the file, the line and the entry.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from b2b_assets.model import ENTITY_BY_NAME, Entity, Kind

FORMATS = ("csv", "json", "jsonl")
EXTENSION_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
USERS_KEYS = ("user", "organization")
API_ENTITIES = ("organizations", "locations", "users")  # what the seed-000 partner API serves
DEFAULT_BATCH_ROWS = 100_000
SOURCE_KEYS = {"file", "api", "rows", "query", "tables", "format", "delimiter", "encoding", "batch_rows", "columns",
               "constants", "match_by_name", "filter", "lookup", "unpivot", "dedupe", "keys_case_insensitive", "optional"}
TRUE_FALSE = {"true": True, "yes": True, "false": False, "no": False}


class MappingError(ValueError):
    """The mapping file is wrong; each of `problems` names the file, the line and the entry."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical column comes from."""

    source: str  # source column name (for `expr`/`unpivot` fields: the column the transform computes)
    value_map: dict[str, str] = field(default_factory=dict)
    split: str | None = None  # list fields: separator used in the source
    expr: str | None = None  # a DuckDB SQL expression over the source columns


@dataclass(frozen=True)
class Settings:
    """Choices seed 000 leaves to the integrator."""

    users_key: str = "user"
    default_status: str = "active"
    country_aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file; `format=None` means by extension, `encoding=None` UTF-8 with a cp1252 fallback."""

    format: str | None = None
    delimiter: str | None = None  # None: sniff from the header
    encoding: str | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS


@dataclass(frozen=True)
class Lookup:
    """Columns taken from another inbox file, matched on equal values (a left join; first match wins)."""

    name: str
    file: Path
    on: dict[str, str]  # this source's column: the lookup file's column
    take: dict[str, str]  # new column name: the lookup file's column


@dataclass(frozen=True)
class Dedupe:
    by: tuple[str, ...]  # source columns (or expressions) forming the key
    keep: str  # SQL ORDER BY: the first row in this order is kept


@dataclass(frozen=True)
class EntitySource:
    """One entity's source: file(s), inline rows, a query or the partner API; its transforms and column mapping."""

    entity: str
    file: Path | None = None  # the first (or only) file
    api: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    files: tuple[Path, ...] = ()  # every file whose rows are unioned (file is files[0])
    rows: tuple[dict[str, str], ...] = ()  # inline reference rows
    row_lines: tuple[int, ...] = ()  # the mapping-file line of each inline row: its row number in reports
    query: str | None = None
    tables: dict[str, Path] = field(default_factory=dict)  # query table name: inbox file
    match_by_name: bool = True
    filter: str | None = None
    lookups: tuple[Lookup, ...] = ()
    unpivot: dict[str, dict[str, str]] = field(default_factory=dict)  # group: canonical field: SQL expression
    dedupe: Dedupe | None = None
    origin: str = "mapping"  # the mapping file, for rows and queries that have no file of their own

    @property
    def transformed(self) -> bool:
        """Whether rows go through the DuckDB transform rather than straight from the reader."""
        return bool(self.query or self.filter or self.lookups or self.unpivot or self.dedupe or len(self.files) > 1
                    or any(spec.expr for spec in self.columns.values()))

    @property
    def sql_texts(self) -> list[str]:
        """Every SQL text of this source: a column they name is used, even if no field maps from it directly."""
        texts = [self.query or "", self.filter or "", *(spec.expr or "" for spec in self.columns.values()),
                 *(e for group in self.unpivot.values() for e in group.values())]
        if self.dedupe:
            texts += [*self.dedupe.by, self.dedupe.keep]
        texts += [c for lookup in self.lookups for c in lookup.on]
        return [t for t in texts if t]

    @property
    def input_files(self) -> tuple[Path, ...]:
        """Every inbox file this source reads."""
        return (*self.files, *self.tables.values(), *(lookup.file for lookup in self.lookups))
    keys_case_insensitive: bool = False  # False: C-1 and c-1 are two records (and are reported as look-alikes)
    optional: bool = False  # True: an export without this entity's file is expected (the entity is skipped)


@dataclass(frozen=True)
class Mapping:
    path: Path | None
    inbox: Path
    settings: Settings
    sources: dict[str, EntitySource]
    lines: dict[str, int] = field(default_factory=dict)  # entry ("sources.users.file") -> line in the file

    def source(self, entity: str) -> EntitySource | None:
        """The entity's source, or None when the mapping does not name it (a partial export: not synced)."""
        return self.sources.get(entity)

    @property
    def not_mapped(self) -> list[str]:
        return [name for name in ENTITY_BY_NAME if name not in self.sources]

    def where(self, entry: str) -> str:
        return located(str(self.path or "mapping"), self.lines, entry)


def located(name: str, lines: dict[str, int], entry: str) -> str:
    """`file:line` of an entry (or of its nearest parent that has a line)."""
    parts = entry.split(".") if entry else []
    while parts and ".".join(parts) not in lines:
        parts.pop()
    line = lines.get(".".join(parts))
    return f"{name}:{line}" if line else name


def default_source(entity: str) -> EntitySource:
    """The mapping an entity gets when nobody wrote one: same-named columns, sniffed CSV."""
    return EntitySource(entity=entity)


def load_mapping(path: str | Path) -> Mapping:
    """The mapping at `path`; any problem raises one MappingError listing them all."""
    mapping, problems = load_mapping_leniently(path)
    if problems:
        raise MappingError(problems)
    return mapping


def load_mapping_leniently(path: str | Path) -> tuple[Mapping | None, list[str]]:
    """The mapping without the sources that have problems, and the problems: so a check can go on with the rest."""
    try:
        return _load(path), []
    except _Partial as partial:
        return partial.mapping, partial.problems
    except MappingError as exc:
        return None, exc.problems


class _Partial(MappingError):
    def __init__(self, mapping: Mapping, problems: list[str]) -> None:
        self.mapping = mapping
        super().__init__(problems)


def _load(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read mapping file ({exc.strerror})") from None
    try:
        # BaseLoader keeps every scalar a string: no YAML 1.1 surprises ("NO" → False, "0012" → 12).
        node = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    lines: dict[str, int] = {}
    document = _plain(node, "", lines) if node is not None else {}
    return parse_mapping(document, origin=path, lines=lines)


def _plain(node: yaml.Node, entry: str, lines: dict[str, int]) -> Any:
    """A composed YAML node as plain str/list/dict, recording each entry's line number on the way."""
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{entry}.{key}" if entry else key
            lines.setdefault(child, key_node.start_mark.line + 1)
            out[key] = _plain(value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list = []
        for i, item in enumerate(node.value):
            lines.setdefault(f"{entry}.{i}", item.start_mark.line + 1)
            out_list.append(_plain(item, f"{entry}.{i}", lines))
        return out_list
    return node.value


class _Parser:
    """Collects every problem of one mapping file instead of stopping at the first."""

    def __init__(self, origin: str | Path | None, lines: dict[str, int]) -> None:
        self.where = str(origin) if origin else "mapping"
        self.lines = lines
        self.problems: list[str] = []

    def error(self, entry: str, message: str) -> MappingError:
        at = located(self.where, self.lines, entry)
        return MappingError(f"{at}: {entry}: {message}" if entry else f"{at}: {message}")

    def record(self, entry: str, message: str) -> None:
        self.problems += self.error(entry, message).problems

    def collect(self, function, *args):
        """Run one part of the parse; its problem is recorded and the parse goes on with the next part."""
        try:
            return function(*args)
        except MappingError as exc:
            self.problems += exc.problems
            return None


def parse_mapping(document: Any, origin: str | Path | None = None, base_dir: Path | None = None,
                  lines: dict[str, int] | None = None) -> Mapping:
    """Build a Mapping from an already-loaded document (used by load_mapping and by tests)."""
    p = _Parser(origin, lines or {})
    if base_dir is None:
        base_dir = Path(origin).parent if origin else Path.cwd()
    _expect_dict(p, document, "")
    _no_unknown(p, document, {"inbox", "defaults", "users_key", "default_status", "country_aliases", "sources"}, "")

    inbox = base_dir / str(document.get("inbox", "."))
    defaults = document.get("defaults", {}) or {}
    _expect_dict(p, defaults, "defaults")
    p.collect(_no_unknown, p, defaults, {"encoding", "delimiter", "batch_rows", "keys_case_insensitive"}, "defaults")
    settings = p.collect(_settings, p, document) or Settings()

    sources_doc = document.get("sources", {}) or {}
    _expect_dict(p, sources_doc, "sources")
    sources = {}
    for name, spec in sources_doc.items():
        parsed = p.collect(_parse_source, p, name, spec, defaults, inbox)
        if parsed is not None:
            sources[name] = parsed
    mapping = Mapping(path=Path(origin) if origin else None, inbox=inbox, settings=settings, sources=sources,
                      lines=dict(p.lines))
    if p.problems:
        raise _Partial(mapping, p.problems)
    return mapping


def _settings(p: _Parser, document: dict) -> Settings:
    users_key = str(document.get("users_key", "user"))
    if users_key not in USERS_KEYS:
        raise p.error("users_key", f"{users_key!r} is not one of {', '.join(USERS_KEYS)}")
    default_status = str(document.get("default_status", "active"))
    if default_status not in ENTITY_BY_NAME["organizations"].field("status").choices:
        raise p.error("default_status", f"{default_status!r} is not one of active, inactive")
    aliases = document.get("country_aliases", {}) or {}
    _expect_dict(p, aliases, "country_aliases")
    return Settings(users_key=users_key, default_status=default_status,
                    country_aliases={str(k).strip().upper(): str(v).strip().upper() for k, v in aliases.items()})


def _parse_source(p: _Parser, name: str, spec: Any, defaults: dict, inbox: Path) -> EntitySource:
    entry = f"sources.{name}"
    if name not in ENTITY_BY_NAME:
        raise p.error(entry, f"unknown entity {name!r}; known: {', '.join(ENTITY_BY_NAME)}")
    entity = ENTITY_BY_NAME[name]
    _expect_dict(p, spec, entry)
    problems_before = len(p.problems)
    p.collect(_no_unknown, p, spec, SOURCE_KEYS, entry)
    origins = [k for k in ("file", "api", "rows", "query") if k in spec]
    if len(origins) != 1 and not (set(origins) == {"file", "query"}):
        raise p.error(entry, "give exactly one of `file` or `api` (or inline `rows`, or a `query`)")

    read = p.collect(_read_options, p, spec, defaults, entry) or ReadOptions()
    files: tuple[Path, ...] = ()
    if "file" in spec:
        names = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
        files = tuple(inbox / str(n) for n in names)
        for i, file in enumerate(files):
            p.collect(_file_format, p, spec, file, entry + (f".file.{i}" if isinstance(spec["file"], list) else ".file"))
    if files and read.format is None:
        read = replace(read, format=EXTENSION_FORMATS.get(files[0].suffix.lower()))
    api = None
    if "api" in spec:
        api = str(spec["api"])
        if api not in API_ENTITIES:
            raise p.error(f"{entry}.api", f"{api!r} is not one of {', '.join(API_ENTITIES)}")
    rows, row_lines = p.collect(_inline_rows, p, entity, spec, entry) or ((), ())
    tables = {str(k): inbox / str(v) for k, v in (p.collect(_dict_of, p, spec, "tables", entry) or {}).items()}

    columns_doc = p.collect(_dict_of, p, spec, "columns", entry) or {}
    columns = {}
    for canonical, value in columns_doc.items():
        parsed = p.collect(_column_spec, p, entity, canonical, value, f"{entry}.columns.{canonical}")
        if parsed is not None:
            columns[canonical] = parsed
    constants = p.collect(_constants, p, entity, spec, entry) or {}
    unpivot = p.collect(_unpivot, p, entity, spec, entry, columns, constants) or {}
    lookups = tuple(p.collect(_lookups, p, spec, entry, inbox) or ())
    dedupe = p.collect(_dedupe, p, spec, entry)
    match_by_name = _flag(p, spec.get("match_by_name", "true"), f"{entry}.match_by_name")
    case_insensitive = _flag(p, spec.get("keys_case_insensitive", defaults.get("keys_case_insensitive", "false")),
                             f"{entry}.keys_case_insensitive")
    optional = _flag(p, spec.get("optional", "false"), f"{entry}.optional")
    for key in ("filter", "query"):
        if key in spec and not isinstance(spec[key], str):
            p.record(f"{entry}.{key}", "expected one SQL text")
    if len(p.problems) > problems_before:
        raise MappingError([])  # already recorded, one by one
    return EntitySource(
        entity=name, file=files[0] if files else None, files=files, api=api, read=read, columns=columns,
        constants=constants, rows=rows, row_lines=row_lines, query=spec.get("query"), tables=tables,
        match_by_name=match_by_name, filter=spec.get("filter"), lookups=lookups, unpivot=unpivot,
        dedupe=dedupe, origin=p.where, keys_case_insensitive=case_insensitive, optional=optional,
    )


def _flag(p: _Parser, value: Any, entry: str) -> bool:
    """A true/false option; a wrong value is recorded and read as the default."""
    text = str(value).lower()
    if text not in TRUE_FALSE:
        p.record(entry, f"{value!r} is not true or false")
    return TRUE_FALSE.get(text, False)


def _file_format(p: _Parser, spec: dict, file: Path, entry: str) -> None:
    fmt = spec.get("format") or EXTENSION_FORMATS.get(file.suffix.lower())
    if fmt not in FORMATS:
        raise p.error(entry, f"cannot tell the format of {file.name!r}; add `format:` ({', '.join(FORMATS)})")


def _read_options(p: _Parser, spec: dict, defaults: dict, entry: str) -> ReadOptions:
    fmt = spec.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise p.error(f"{entry}.format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    delimiter = spec.get("delimiter", defaults.get("delimiter", "auto"))
    delimiter = {"auto": None, "tab": "\t", "\\t": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if delimiter is not None and len(delimiter) != 1:
        raise p.error(f"{entry}.delimiter", f"{delimiter!r} must be one character, `tab` or `auto`")
    encoding = spec.get("encoding", defaults.get("encoding"))
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise p.error(f"{entry}.encoding", f"unknown encoding {encoding!r}") from None
        if codecs.lookup(encoding).name == "utf-8" and "encoding" not in spec:
            # A utf-8 *default* is not a declaration about this file: keep the cp1252 fallback for it.
            encoding = None
    batch_rows = spec.get("batch_rows", defaults.get("batch_rows", DEFAULT_BATCH_ROWS))
    try:
        batch_rows = int(batch_rows)
        if batch_rows < 1:
            raise ValueError
    except ValueError:
        raise p.error(f"{entry}.batch_rows", f"{batch_rows!r} is not a positive integer") from None
    return ReadOptions(format=fmt, delimiter=delimiter, encoding=encoding, batch_rows=batch_rows)


def _dict_of(p: _Parser, spec: dict, key: str, entry: str) -> dict:
    value = spec.get(key, {}) or {}
    _expect_dict(p, value, f"{entry}.{key}")
    return value


def _inline_rows(p: _Parser, entity: Entity, spec: dict, entry: str):
    if "rows" not in spec:
        return (), ()
    rows = spec["rows"]
    if not isinstance(rows, list) or not rows:
        raise p.error(f"{entry}.rows", "expected a list of rows (field: value)")
    for i, row in enumerate(rows):
        _expect_dict(p, row, f"{entry}.rows.{i}")
        for name, value in row.items():
            _known_field(p, entity, name, f"{entry}.rows.{i}.{name}")  # inline rows are written in model fields
            if not isinstance(value, str):
                raise p.error(f"{entry}.rows.{i}.{name}", "expected a single value")
    lines = tuple(p.lines.get(f"{entry}.rows.{i}", i + 1) for i in range(len(rows)))
    return tuple(rows), lines


def _constants(p: _Parser, entity: Entity, spec: dict, entry: str) -> dict[str, str]:
    constants = _dict_of(p, spec, "constants", entry)
    for canonical, value in constants.items():
        _known_field(p, entity, canonical, f"{entry}.constants.{canonical}")
        if not isinstance(value, str):
            raise p.error(f"{entry}.constants.{canonical}", "expected a single value")
    return dict(constants)


def _column_spec(p: _Parser, entity: Entity, canonical: str, value: Any, entry: str) -> ColumnSpec:
    f = _known_field(p, entity, canonical, entry)
    if isinstance(value, str):
        return ColumnSpec(source=value)
    _expect_dict(p, value, entry)
    _no_unknown(p, value, {"from", "expr", "map", "split"}, entry)
    if ("from" in value) == ("expr" in value) or not isinstance(value.get("from", value.get("expr")), str):
        raise p.error(entry, "a column spec needs `from: <source column>` or `expr: <SQL expression>`")
    value_map = value.get("map", {}) or {}
    _expect_dict(p, value_map, f"{entry}.map")
    if not all(isinstance(v, str) for v in value_map.values()):
        raise p.error(f"{entry}.map", "values must be single values")
    split = value.get("split")
    if split is not None:
        if f.kind is not Kind.LIST:
            raise p.error(f"{entry}.split", f"{canonical!r} is not a list field")
        if not isinstance(split, str) or not split:
            raise p.error(f"{entry}.split", "expected a separator string")
    expr = value.get("expr")
    return ColumnSpec(source=computed_column(canonical) if expr else value["from"], expr=expr, split=split,
                      value_map={str(k).strip(): v for k, v in value_map.items()})


def computed_column(canonical: str) -> str:
    """The name under which the transform hands over a field it computed (never a real export column)."""
    return f"__{canonical}"


def _unpivot(p: _Parser, entity: Entity, spec: dict, entry: str, columns: dict, constants: dict):
    groups = _dict_of(p, spec, "unpivot", entry)
    if not groups:
        return {}
    fields: set[str] | None = None
    for group, exprs in groups.items():
        _expect_dict(p, exprs, f"{entry}.unpivot.{group}")
        for canonical, expr in exprs.items():
            _known_field(p, entity, canonical, f"{entry}.unpivot.{group}.{canonical}")
            if not isinstance(expr, str):
                raise p.error(f"{entry}.unpivot.{group}.{canonical}", "expected a SQL expression")
            if canonical in columns or canonical in constants:
                raise p.error(f"{entry}.unpivot.{group}.{canonical}",
                              f"{canonical!r} is also under columns/constants; give it in one place")
        if fields is not None and set(exprs) != fields:
            raise p.error(f"{entry}.unpivot.{group}", f"every group must give the same fields: {', '.join(sorted(fields))}")
        fields = set(exprs)
    return {str(g): dict(e) for g, e in groups.items()}


def _lookups(p: _Parser, spec: dict, entry: str, inbox: Path) -> list[Lookup]:
    out = []
    for name, value in _dict_of(p, spec, "lookup", entry).items():
        at = f"{entry}.lookup.{name}"
        _expect_dict(p, value, at)
        _no_unknown(p, value, {"file", "on", "take"}, at)
        on, take = value.get("on"), value.get("take")
        if "file" not in value or not isinstance(on, dict) or not on or not isinstance(take, dict) or not take:
            raise p.error(at, "a lookup needs `file`, `on: {this column: lookup column}` and "
                              "`take: {new column: lookup column}`")
        out.append(Lookup(name=str(name), file=inbox / str(value["file"]), on=dict(on), take=dict(take)))
    return out


def _dedupe(p: _Parser, spec: dict, entry: str) -> Dedupe | None:
    if "dedupe" not in spec:
        return None
    value = spec["dedupe"]
    _expect_dict(p, value, f"{entry}.dedupe")
    _no_unknown(p, value, {"by", "keep"}, f"{entry}.dedupe")
    by = value.get("by")
    by = [by] if isinstance(by, str) else by
    if not by or not isinstance(value.get("keep"), str):
        raise p.error(f"{entry}.dedupe", "needs `by: [key columns]` and `keep: <ORDER BY, first row kept>`, "
                                         "e.g. keep: PriceDate DESC")
    return Dedupe(by=tuple(by), keep=value["keep"])


def _known_field(p: _Parser, entity: Entity, canonical: str, entry: str):
    try:
        return entity.field(canonical)
    except KeyError:
        raise p.error(entry, f"{entity.name} has no field {canonical!r}; fields: {', '.join(entity.columns)}") from None


def _expect_dict(p: _Parser, value: Any, entry: str) -> None:
    if not isinstance(value, AbstractMapping):
        raise p.error(entry, f"expected a mapping (key: value), got {type(value).__name__}")


def _no_unknown(p: _Parser, value: AbstractMapping, allowed: set[str], entry: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        # One unknown key is blamed on its own line; several on their parent's.
        at = ".".join(filter(None, (entry, unknown[0]))) if len(unknown) == 1 else entry
        raise p.error(at, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
