"""Which references of a frame point at keys that do not exist (for the hub; not done while reading)."""

from __future__ import annotations

import pandas as pd

from b2b_assets.model import LIST_SEPARATOR, Entity
from b2b_assets.model import entity as entity_named
from b2b_assets.model.frames import TEXT_DTYPE, key_isin

MISSING_COLUMNS = ("row", "reference", "entity", "on_missing", "missing_value")
_JOIN = "\x1f"  # joins composite key parts; cannot occur in exported text


def missing_references(entity: Entity | str, frame: pd.DataFrame,
                       existing_keys_by_entity: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (frame row, reference, missing key): `row` is the frame's index label.

    `existing_keys_by_entity[name]` holds that entity's key columns, or those keys as one text column
    (`joined_keys`: join them once to check many frames against them). A reference whose columns
    are all empty is absent, not missing; a partly filled composite reference is missing.
    `many=True` references hold several "|"-joined keys and report each missing one.
    A self-reference also accepts keys of `frame` itself (a parent in the same file).
    References to entities not in the dict are not checked.
    """
    entity = entity_named(entity) if isinstance(entity, str) else entity
    parts = []
    for ref in entity.references:
        if ref.entity not in existing_keys_by_entity:
            continue
        known = joined_keys(ref.entity, existing_keys_by_entity[ref.entity])
        if ref.entity == entity.name:
            known = pd.concat([known, _joined(frame, list(entity.key))])
        values = frame[list(ref.columns)].astype(TEXT_DTYPE)
        present = values.notna().any(axis=1)
        if ref.many:
            column = values.iloc[:, 0][present]
            wanted = column.str.split(LIST_SEPARATOR).explode().astype(TEXT_DTYPE).str.strip()
            wanted = wanted[wanted.notna() & (wanted.str.len() > 0)]
            shown = wanted
        else:
            wanted = _joined(values[present], list(values.columns))
            shown = wanted.str.replace(_JOIN, " / ", regex=False)
        missing = pd.Series(~key_isin(wanted, known), index=wanted.index)  # a partly empty composite key has an empty part no real key has
        if missing.any():
            parts.append(pd.DataFrame({
                "row": wanted.index[missing.to_numpy()],
                "reference": ref.name, "entity": ref.entity, "on_missing": str(ref.on_missing),
                "missing_value": shown[missing].to_numpy(),
            }))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object if c == "row" else TEXT_DTYPE) for c in MISSING_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.astype({c: TEXT_DTYPE for c in MISSING_COLUMNS if c != "row"})


def joined_keys(entity_name: str, keys: pd.DataFrame | pd.Series) -> pd.Series:
    """An entity's key columns as one text column, as `missing_references` compares them.

    A Series is taken as already joined."""
    if isinstance(keys, pd.Series):
        return keys
    return _joined(keys, list(entity_named(entity_name).key))


def _joined(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    values = frame[columns].astype(TEXT_DTYPE)
    if len(columns) == 1:
        return values.iloc[:, 0]
    joined = values.iloc[:, 0].fillna("")
    for column in columns[1:]:
        joined = joined + _JOIN + values[column].fillna("")
    return joined
