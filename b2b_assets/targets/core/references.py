"""Held records: payload records pointing at something the target does not have yet."""

from __future__ import annotations

import pandas as pd

from b2b_assets.model.frames import key_isin
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload, Reference


def held_reasons(records: pd.DataFrame, children: pd.DataFrame | None, references: tuple[Reference, ...],
                 known: dict[str, pd.Index], *, key_column: str = RECORD_KEY,
                 parent_column: str = PARENT_KEY) -> pd.Series:
    """Reason strings indexed by record_key for records with a reference the target lacks.

    `known[object]` holds the record keys the target has confirmed for that
    object (ledger state sent). Empty references are absent, not missing.
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
        missing = values.notna() & (values != "") & ~key_isin(values, known.get(ref.object, pd.Index([])))
        if missing.any():
            where = "nested " if ref.in_child else ""
            text = (f"{where}{ref.field} '" + values[missing] + f"' is not yet at the target's {ref.object}")
            reasons.append(pd.Series(text.to_numpy(), index=owner[missing].to_numpy()))
    if not reasons:
        return pd.Series([], dtype="string")
    # One reason per record, the first found, and how many more there are: joining every record's
    # reasons group by group would be per-record Python when a whole catalogue waits on one parent.
    every = pd.concat(reasons)
    more = every.index.value_counts() - 1
    first = every[~every.index.duplicated(keep="first")].astype("string")
    extra = more.reindex(first.index).to_numpy()
    # Built on first's index: a Series re-indexed by label from a RangeIndex would be all NA, and an NA reason
    # would let a record with two missing references through unheld.
    suffix = " (and " + pd.Series(extra, index=first.index).astype("string") + " more)"
    return first.where(extra == 0, first + suffix).astype("string")


def hold_back_children(payload: Payload, references: list[Reference], known: dict[str, pd.Index]) -> int:
    """Leave out nested rows (a location's stock of a product the target lacks) rather than the whole parent.

    The parent's hash covers only the nested rows it is sent with, so once the
    missing record lands the parent's hash changes and it is sent again, complete.
    Returns how many nested rows were left out.
    """
    children = payload.children
    if children is None or children.empty or not references:
        return 0
    keep = pd.Series(True, index=children.index)
    for ref in references:
        values = children[ref.field].astype("string")
        keep &= values.isna() | (values == "") | key_isin(values, known[ref.object])
    payload.children = children[keep.to_numpy()]
    return int((~keep).sum())
