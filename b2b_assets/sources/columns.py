"""Applying an entity's column mapping: source columns in, canonical columns (still strings) out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import LIST_SEPARATOR, Entity, Kind
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.mapping import ColumnSpec, EntitySource, Settings, computed_column
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN
from b2b_assets.sources.value_bytes import edge_bytes

BOOKKEEPING = (SOURCE_COLUMN, ROW_COLUMN)

# Canonical columns a missing source column can be derived from (seed 000 rules), so their absence is no error.
DERIVED_FROM: dict[tuple[str, str], tuple[str, ...]] = {
    ("locations", "location_name"): ("city",),  # "If no store name exists, city is an acceptable fallback"
    ("users", "user_key"): ("user_id", "username"),  # replaced by organization_number in organization mode
}


@dataclass
class Mapped:
    frame: pd.DataFrame  # every canonical column (NA where absent) plus _source/_row
    missing_required: list[tuple[str, str]] = field(default_factory=list)  # (canonical, what was looked for)
    unused_columns: list[str] = field(default_factory=list)
    missing_optional: list[tuple[str, str]] = field(default_factory=list)  # explicitly mapped but not in the file
    origins: dict[str, str] = field(default_factory=dict)  # canonical field -> where its values came from
    matched_by_name: list[tuple[str, str]] = field(default_factory=list)  # (canonical, source column)


def apply_mapping(entity: Entity, raw: pd.DataFrame, source: EntitySource, settings: Settings) -> Mapped:
    """Explicit first: `columns`/`unpivot` fields, then constants, and only then same-named source columns."""
    lookup = _ColumnLookup([c for c in raw.columns if c not in BOOKKEEPING])
    out: dict[str, pd.Series] = {}
    result = Mapped(frame=pd.DataFrame())
    wanted: dict[str, str] = {}
    for f in entity.fields:
        spec = source.columns.get(f.name)
        if spec is None and any(f.name in group for group in source.unpivot.values()):
            spec = ColumnSpec(source=computed_column(f.name), expr="unpivot")
        explicit = spec is not None
        constant = source.constants.get(f.name)
        if spec is None and constant is None and source.match_by_name:
            spec = ColumnSpec(source=f.name)
        column_name = lookup.find(spec.source) if spec is not None else None
        wanted[f.name] = spec.source if spec is not None else f.name
        if column_name is None:
            if constant is not None:
                out[f.name] = pd.Series(constant, index=raw.index, dtype=TEXT_DTYPE)
                result.origins[f.name] = f"constant {constant!r}"
            elif explicit:
                result.missing_optional.append((f.name, spec.source))
            continue
        column = _trim(raw[column_name])
        if spec.value_map:
            column = _replace_values(column, spec.value_map)
        if f.kind is Kind.LIST:
            column = _as_key_list(column, spec.split)
        if constant is not None:  # an explicit column and a constant: the constant fills its empty cells
            column = column.fillna(constant)
        out[f.name] = column
        result.origins[f.name] = _origin(spec, column_name, explicit)
        if not explicit:
            result.matched_by_name.append((f.name, column_name))
    for f in entity.fields:
        if f.name in out:
            continue
        derived_from = _derivable(entity, f.name, out, settings)
        if derived_from:
            result.origins[f.name] = f"derived from {' or '.join(derived_from)}"
        elif f.required:
            result.missing_required.append((f.name, wanted[f.name]))
    result.missing_optional = [m for m in result.missing_optional if m not in result.missing_required]
    sql = " ".join(source.sql_texts)
    result.unused_columns = [c for c in lookup.unused() if not c.startswith("__")
                             and not re.search(rf"(?<!\w){re.escape(c)}(?!\w)", sql, flags=re.IGNORECASE)]
    frame = pd.DataFrame({name: out[name] if name in out else _empty(raw.index) for name in entity.columns},
                         index=raw.index)
    for column in BOOKKEEPING:
        frame[column] = raw[column]
    _derive(entity, frame, settings)
    result.frame = frame
    return result


def _origin(spec: ColumnSpec, column_name: str, explicit: bool) -> str:
    if spec.expr == "unpivot":
        return "unpivot"
    if spec.expr:
        return f"expr {spec.expr}"
    return f"column {column_name!r}" if explicit else f"column {column_name!r} (matched by name)"


class _ColumnLookup:
    """Source columns by exact name, then by name ignoring case and surrounding spaces."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._loose: dict[str, str] = {}
        for name in names:
            self._loose.setdefault(name.strip().casefold(), name)
        self._used: set[str] = set()

    def find(self, wanted: str) -> str | None:
        name = wanted if wanted in self.names else self._loose.get(wanted.strip().casefold())
        if name is not None:
            self._used.add(name)
        return name

    def unused(self) -> list[str]:
        return [n for n in self.names if n not in self._used]


def _derivable(entity: Entity, name: str, mapped: dict[str, pd.Series], settings: Settings) -> list[str]:
    """The fields the mapping did produce (mapped names, not headers) that `name` can be derived from."""
    sources = DERIVED_FROM.get((entity.name, name), ())
    if entity.name == "users" and name == "user_key" and settings.users_key == "organization":
        sources = ("organization_number",)
    return [s for s in sources if s in mapped]


def _derive(entity: Entity, frame: pd.DataFrame, settings: Settings) -> None:
    """Fill canonical columns seed 000 derives from others, where the source left them empty."""
    if entity.name == "locations":
        frame["location_name"] = frame["location_name"].fillna(frame["city"])
    elif entity.name == "users":
        if settings.users_key == "organization":
            derived = frame["organization_number"]
        else:
            derived = frame["user_id"].fillna(frame["username"])
        frame["user_key"] = frame["user_key"].fillna(derived)


def _empty(index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(pa.nulls(len(index), pa.string()), dtype=TEXT_DTYPE), index=index)


def _trim(column: pd.Series) -> pd.Series:
    """Surrounding whitespace off (as str.strip), and a value left empty is no value."""
    text = pa.array(column.astype(TEXT_DTYPE).array, type=pa.string()) if len(column) else pa.array([], pa.string())
    if _may_hold_whitespace(text):
        text = pc.utf8_trim_whitespace(text)
    empty = pc.equal(pc.binary_length(text), 0)
    if pc.any(empty).as_py():
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
    return pd.Series(pd.array(text, dtype=TEXT_DTYPE), index=column.index, name=column.name)


def _may_hold_whitespace(text: pa.Array | pa.ChunkedArray) -> bool:
    """False when every value starts and ends with a printable ASCII byte other than a space: nothing to trim
    (a name's inner spaces are no reason to trim it). Unicode spaces start and end with bytes above 0x7F."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        edges = edge_bytes(chunk)
        if len(edges) and (edges.min() <= 0x20 or edges.max() >= 0x7F):
            return True
    return False


def _replace_values(column: pd.Series, value_map: dict[str, str]) -> pd.Series:
    replaced = column.map(value_map)  # dict lookup on the whole column: values not listed become NA ...
    return replaced.astype(TEXT_DTYPE).fillna(column)  # ... and keep their own value


def _as_key_list(column: pd.Series, split: str | None) -> pd.Series:
    """Several keys in one cell: canonical form is "a|b|c" with no blanks or empty entries."""
    if column.isna().all():
        return column
    json_like = column.str.startswith("[").fillna(False)
    if json_like.any():  # JSON sources send a real array, which the reader kept as JSON text
        uniques = column[json_like].unique()
        column = column.where(~json_like, column.map({u: _json_list(u) for u in uniques}).astype(TEXT_DTYPE))
    if split and split != LIST_SEPARATOR:
        column = column.str.replace(split, LIST_SEPARATOR, regex=False)
    column = column.str.replace(r"\s*\|[\s|]*", LIST_SEPARATOR, regex=True).str.strip("| \t")
    return column.mask(column.str.len() == 0)


def _json_list(text: str) -> str:
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        return text
    if not isinstance(values, list):
        return text
    return LIST_SEPARATOR.join(str(v).strip() for v in values if v is not None and str(v).strip())
