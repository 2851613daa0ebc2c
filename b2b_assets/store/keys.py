"""Record keys: an entity's key columns as one string, computed vectorised.

The hub's held records and every target's sync ledger identify a record by the
same `record_key`, so a record can be followed from the hub to each target.
Missing optional key parts (e.g. a customer price for a price group has no
organization_number) are empty strings, both here and in the hub's key columns.
"""

from __future__ import annotations

import pandas as pd

from b2b_assets.model import Entity, Kind, entity
from b2b_assets.model.decimals import DECIMAL_DTYPE, decimal_text
from b2b_assets.model.frames import TEXT_DTYPE, cast_frame
from b2b_assets.targets.core.contract import KEY_SEPARATOR, RECORD_KEY


def as_entity(entity_or_name: Entity | str) -> Entity:
    return entity(entity_or_name) if isinstance(entity_or_name, str) else entity_or_name


def key_text(column: pd.Series) -> pd.Series:
    """One key column as text, missing parts as ''; an exact decimal in its shortest spelling ("2.5", "10")."""
    text = decimal_text(column) if column.dtype == DECIMAL_DTYPE else column.astype(TEXT_DTYPE)
    return text.fillna("")


def record_key(entity_or_name: Entity | str, frame: pd.DataFrame) -> pd.Series:
    """The key columns of `frame` joined with "\\x1f" (missing parts as ''), aligned with frame's index.

    Decimal key parts (quantity breaks) are formatted from the exact canonical
    value, so "2.50" and "2.5" are one record with one key.
    """
    ent = as_entity(entity_or_name)
    keys = cast_frame(ent, frame.reindex(columns=list(ent.key)))[list(ent.key)]
    joined = key_text(keys[ent.key[0]])
    for column in ent.key[1:]:
        joined = joined + KEY_SEPARATOR + key_text(keys[column])
    return joined.rename(RECORD_KEY)


def text_key_columns(ent: Entity) -> list[str]:
    """Key columns stored as text: their missing values are stored as '' so the primary key holds."""
    return [c for c in ent.key if ent.field(c).kind not in (Kind.DECIMAL, Kind.INTEGER, Kind.BOOLEAN)]
