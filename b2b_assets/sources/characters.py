"""Values whose characters are not what the ERP meant: control bytes, and codes Excel turned into numbers.

A column's bytes are first scanned with numpy (UTF-8 never uses bytes below 0x80
inside a multi-byte character, so an ASCII control byte is a control character);
only a column that has one is searched with a regular expression, and only the
few offending cells are described one by one. The happy path stays columnar.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import Entity, Kind
from b2b_assets.sources.issues import concat_issues, issue_frame
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN
from b2b_assets.sources.value_bytes import column_bytes
from b2b_assets.store.keys import KEY_SEPARATOR

# C0 controls and DEL. Tab and line breaks are text in a description, never in a key.
TEXT_CONTROLS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
KEY_CONTROLS = r"[\x00-\x1F\x7F]"
# What Excel writes for a long number it showed in scientific notation: the digits past the mantissa are gone.
EXCEL_NUMBER = r"^[0-9](?:\.[0-9]+)?E\+[0-9]+$"
_CODE_NAME = re.compile(r"(?:^|_)(?:code|barcode|sku|gtin|ean|upc)(?:_|$)")
_CONTROL_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x1F: "US", 0x7F: "DEL"}


def key_columns(entity: Entity) -> list[str]:
    """Text columns that hold a key: the entity's own and those referring to another entity's."""
    names = [*entity.key, *(c for ref in entity.references for c in ref.columns)]
    return [n for n in dict.fromkeys(names) if entity.field(n).kind in (Kind.TEXT, Kind.LIST)]


def code_columns(entity: Entity) -> list[str]:
    """Key columns plus text fields named as codes (barcode, sku, search_code, ...)."""
    named = [f.name for f in entity.fields if f.kind is Kind.TEXT and _CODE_NAME.search(f.name)]
    return list(dict.fromkeys([*key_columns(entity), *named]))


def character_issues(entity: Entity, values: pd.DataFrame) -> pd.DataFrame:
    """One issue per cell holding a control character, the key separator, or an Excel-mangled code."""
    keys, codes = set(key_columns(entity)), set(code_columns(entity))
    parts = []
    for name in entity.columns:
        column = _arrow(values[name])
        if column.null_count == len(column):
            continue
        pattern = KEY_CONTROLS if name in keys else TEXT_CONTROLS
        if has_control_bytes(column, allow_text_breaks=name not in keys):
            controls = pc.fill_null(pc.match_substring_regex(column, pattern), False)
            parts.append(_issues(values, name, controls, lambda value, p=pattern: _control_reason(value, p)))
        if name in codes and _may_hold_plus(column):
            mangled = pc.fill_null(pc.match_substring_regex(column, EXCEL_NUMBER), False)
            if pc.any(mangled).as_py():
                parts.append(_issues(values, name, mangled, _excel_reason))
    return concat_issues(parts)


def has_control_bytes(column: pa.Array | pa.ChunkedArray, *, allow_text_breaks: bool = True) -> bool:
    """Whether any value of a string column may hold a C0 control or DEL (TAB, LF, CR allowed if asked).

    A yes is to be confirmed (a regex finds the cells).
    """
    allowed = np.array([9, 10, 13] if allow_text_breaks else [], dtype=np.uint8)
    for raw in column_bytes(column):
        if raw.min(initial=0xFF) >= 0x20 and not (raw == 0x7F).any():
            continue  # the common case, proven by two vectorised passes
        control = raw[(raw < 0x20) | (raw == 0x7F)]
        if len(control) and not np.isin(control, allowed).all():
            return True
    return False


def _may_hold_plus(column: pa.Array) -> bool:
    """Whether a value may be a number in scientific notation: it needs a "+" (one byte scan; a yes is checked)."""
    return any((raw == 0x2B).any() for raw in column_bytes(column))


def visible(text: str) -> str:
    """`text` with control characters spelled out (\\x00), so a report shows them and a database accepts them."""
    return re.sub(TEXT_CONTROLS, lambda m: f"\\x{ord(m.group()):02x}", text)


def _issues(values: pd.DataFrame, name: str, mask: pa.Array, reason) -> pd.DataFrame:
    rows = values[np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)]
    cells = rows[name].tolist()
    return issue_frame(rows[SOURCE_COLUMN].to_numpy(), rows[ROW_COLUMN].to_numpy(), name,
                       [visible(c) for c in cells], [reason(c) for c in cells])


def _control_reason(value: str, pattern: str) -> str:
    found = re.search(pattern, value)
    position, char = found.start(), found.group()
    code = ord(char)
    label = f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")
    if char == KEY_SEPARATOR:
        return (f"contains {label} at position {position + 1}, the character that joins the parts of a "
                "composite key (keys could collide); row skipped")
    return f"contains control character {label} at position {position + 1}; row skipped"


def _excel_reason(value: str) -> str:
    return (f"{value!r} is a number in scientific notation, as Excel writes a long code it has rounded; "
            "the original digits are lost: export this column as text; row skipped")


def _arrow(column: pd.Series) -> pa.Array:
    return pa.array(column.array, type=pa.string()) if len(column) else pa.array([], type=pa.string())
