"""Held records: payload records pointing at something the target does not have yet."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from b2b_assets.model.frames import key_isin


@dataclass(frozen=True)
class TargetReference:
    """A payload field (or a nested child's field) holding the key of another entity at the same target."""

    field: str
    entity: str
    in_child: bool = False
    many: bool = False  # the field holds a list of keys


def held_reasons(records: pd.DataFrame, children: pd.DataFrame | None, references: tuple[TargetReference, ...],
                 known: dict[str, pd.Index], *, key_column: str = "record_key",
                 parent_column: str = "parent_key") -> pd.Series:
    """Reason strings indexed by record_key for records with a reference the target lacks.

    `known[entity]` holds the record keys the target has confirmed for that
    entity (ledger state sent). Empty references are absent, not missing.
    """
    reasons: list[pd.Series] = []
    for ref in references:
        source = children if ref.in_child else records
        if source is None or source.empty or ref.field not in source.columns:
            continue
        owner = source[parent_column if ref.in_child else key_column]
        values = source[ref.field]
        if ref.many:
            exploded = pd.DataFrame({"owner": owner, "value": values}).explode("value")
            owner, values = exploded["owner"], exploded["value"]
        values = values.astype("string")
        missing = values.notna() & (values != "") & ~key_isin(values, known.get(ref.entity, pd.Index([])))
        if missing.any():
            where = "nested " if ref.in_child else ""
            text = (f"{where}{ref.field} '" + values[missing] + f"' is not yet at the target's {ref.entity}")
            reasons.append(pd.Series(text.to_numpy(), index=owner[missing].to_numpy()))
    if not reasons:
        return pd.Series([], dtype="string")
    # One reason per record, the first found, and how many more there are: joining every record's
    # reasons group by group would be per-record Python when a whole catalogue waits on one parent.
    every = pd.concat(reasons)
    more = every.index.value_counts() - 1
    first = every[~every.index.duplicated(keep="first")].astype("string")
    extra = more.reindex(first.index).to_numpy()
    suffix = pd.Series(" (and " + pd.Series(extra).astype("string") + " more)", index=first.index)
    return first.where(extra == 0, first + suffix).astype("string")
