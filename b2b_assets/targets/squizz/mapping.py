"""Canonical frames -> SQUIZZ ESD payloads, with column operations over whole entities.

`to_payload` turns the hub's canonical frames into one row per ESD record
(values already in ESD form) plus the nested records for products and
locations. `Payload.data_records` writes the records being sent as JSON column
by column (`targets/core/json_columns.py`), with no Python object per record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pycountry

from b2b_assets.model import LIST_SEPARATOR
from b2b_assets.model.decimals import DECIMAL_DTYPE, decimal_text, to_decimals
from b2b_assets.model.frames import TEXT_DTYPE, key_isin
from b2b_assets.targets.core.contract import KEY_SEPARATOR, PARENT_KEY, RECORD_KEY
from b2b_assets.targets.core.contract import Payload as CorePayload
from b2b_assets.targets.core.json_columns import JsonArray, json_array, json_objects, nested_arrays
from b2b_assets.targets.squizz.field_map import CHILD_COLUMNS, RECORD_COLUMNS
from b2b_assets.targets.squizz.import_types import PRICE_GROUP_ACCOUNTS, EsdType, FieldSpec, ImportType, import_type

LONG_DTYPE = "int64[pyarrow]"


@dataclass
class Payload(CorePayload):
    """The mapped records of one import type (the core's Payload, values in ESD form).

    price_groups: customer account pricing's priceGroups object for the groups used.
    child_field: the ESD array the children are nested in (sellUnits, productStock).
    """

    price_groups: dict[str, list[str]] | None = None
    child_field: str | None = None

    def data_records(self, rows: pd.DataFrame) -> JsonArray:
        """The ESD dataRecords for `rows` (a slice of `records`), written as JSON: children nested, NA left out."""
        columns = [c for c in rows.columns if c != RECORD_KEY and not c.startswith("_")]
        nested = None
        if self.child_field:
            # The array is a managed field: an empty list says "none", which omitting it would not.
            nested = {self.child_field: self._nested_for(rows[RECORD_KEY].tolist())}
        return json_array(json_objects(rows[columns], nested))

    def price_groups_for(self, rows: pd.DataFrame) -> dict[str, list[str]] | None:
        """The priceGroups object a document carrying `rows` needs (only the groups those rows use)."""
        if self.price_groups is None or "keyPriceGroupID" not in rows.columns:
            return None
        used = rows["keyPriceGroupID"].dropna().unique()
        return {str(g): self.price_groups.get(str(g), []) for g in sorted(used)}

    @cached_property
    def _children_by_parent(self) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
        """Each parent key's number, the children's positions in parent order, each parent's first and count.

        Built once per payload from one factorize (groupby's per-parent arrays cost ten times more);
        children keep their own order within a parent.
        """
        codes, parents = pd.factorize(self.children[PARENT_KEY])
        order = np.argsort(codes, kind="stable")[np.count_nonzero(codes < 0):]  # no NA parent
        counts = np.bincount(codes[codes >= 0], minlength=len(parents))
        firsts = np.cumsum(counts) - counts
        return dict(zip(parents.tolist(), range(len(parents)))), order, firsts, counts

    def _nested_for(self, keys: list[str]) -> pa.Array:
        """The JSON array of each record's nested rows: one take of the slice's children, written by column."""
        columns = [c for c in self.children.columns if c != PARENT_KEY] if self.children is not None else []
        lengths = np.zeros(len(keys), dtype=np.int64)
        chosen = pd.DataFrame({c: self.children[c].iloc[:0] for c in columns})
        if self.children is not None and not self.children.empty:
            number, order, firsts, counts = self._children_by_parent
            at = np.fromiter((number.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
            lengths = np.where(at >= 0, counts[at], 0)
            # Each parent's run of `order`: its first position, then one more per child.
            runs = np.repeat(firsts[at] - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
            chosen = self.children[columns].iloc[order[runs]]
        return nested_arrays(json_objects(chosen), lengths)


def to_payload(spec: ImportType | str, frames: Mapping[str, pd.DataFrame]) -> Payload:
    """Map canonical `frames` (keyed by canonical entity name) to the payload of one import type."""
    spec = import_type(spec) if isinstance(spec, str) else spec
    missing = [e for e in spec.source_entities if e not in frames]
    if missing:
        raise ValueError(f"SQUIZZ {spec.name} needs the canonical frames {missing}; got {sorted(frames)}")
    source = _primary_source(spec, frames)
    records = _esd_columns(spec.name, source, RECORD_COLUMNS[spec.name], spec.field_limits)[list(spec.record_fields)]
    records.insert(0, RECORD_KEY, record_keys(records, spec.key_fields))

    children = None
    if spec.name in CHILD_COLUMNS:
        entity, parent_column, table = CHILD_COLUMNS[spec.name]
        nested = frames[entity]
        nested = nested[key_isin(nested[parent_column], records[RECORD_KEY])].reset_index(drop=True)
        children = _esd_columns(spec.name, nested, table, spec.child_field_limits)[list(spec.child_data_fields)]
        children.insert(0, PARENT_KEY, nested[parent_column].astype(TEXT_DTYPE))

    price_groups = None
    if spec.name == "customer_account_prices":
        price_groups = _price_groups(records["keyPriceGroupID"], frames["price_group_members"])
        members = pd.Series({g: accounts for g, accounts in price_groups.items()}, dtype=object)
        # tolist(): map() returns a pyarrow list column; plain lists hash and print like the ARRAY fields.
        accounts = pd.Series(records["keyPriceGroupID"].map(members).tolist(), index=records.index, dtype=object)
        records[PRICE_GROUP_ACCOUNTS] = accounts.where(accounts.notna(), None)
    return Payload(records, children, price_groups, spec.child_field)


def record_keys(records: pd.DataFrame, key_fields: tuple[str, ...]) -> pd.Series:
    """Key field values joined with KEY_SEPARATOR; an empty (optional) key part is the empty string."""
    parts = [_key_text(records[f]).fillna("") for f in key_fields]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + KEY_SEPARATOR + part
    return joined.astype(TEXT_DTYPE)


def _key_text(column: pd.Series) -> pd.Series:
    # A decimal key part (a quantity break) in its shortest exact spelling: 2.5, not 2.5000000000.
    return decimal_text(column) if column.dtype == DECIMAL_DTYPE else column.astype(TEXT_DTYPE)


def country_names(codes: pd.Series) -> pd.Series:
    """ISO 3166-1 alpha-2 codes -> country names, looked up once per distinct code.

    An unknown code is kept as it is rather than dropped (the model validates
    codes, so this only happens if pycountry lags the standard).
    """
    names = {code: _country_name(code) for code in codes.dropna().unique()}
    return codes.map(names).astype(TEXT_DTYPE)


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=str(code).upper())
    if country is None:
        return str(code)
    return getattr(country, "common_name", None) or country.name


def _primary_source(spec: ImportType, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = frames[spec.source_entities[0]]
    if spec.name == "stock_quantities":
        # SQUIZZ keeps one available quantity per product: the sum over the seller's sites.
        summed = frame.groupby("product_id", sort=True)["qty_available"].sum(min_count=1)  # exact decimal sum
        return summed.reset_index()
    if spec.name == "products" and "status" in frame.columns:
        # SQUIZZ's product record has no active flag: a product that is not active is left out of the upload,
        # so the planner treats it as gone (a deletion under the deletion policy; a COMPLETE upload deactivates it).
        frame = frame[frame["status"].fillna("active") == "active"]
    if spec.name == "customer_accounts":
        frame = frame.assign(account_code=frame["account_code"].fillna(frame["organization_number"]))
    if spec.name == "locations":
        frame = frame.assign(country=country_names(frame["country"]))
    return frame.reset_index(drop=True)


def _esd_columns(type_name: str, source: pd.DataFrame, table: dict[str, str],
                 limits: dict[str, FieldSpec]) -> pd.DataFrame:
    columns = {}
    for esd_field, canonical in table.items():
        if canonical not in source.columns:
            raise ValueError(f"SQUIZZ {type_name}: canonical column {canonical!r} (for {esd_field}) is missing")
        columns[esd_field] = _to_esd(source[canonical], limits[esd_field].type)
    return pd.DataFrame(columns, index=source.index).reset_index(drop=True)


def _to_esd(column: pd.Series, esd_type: EsdType) -> pd.Series:
    if esd_type is EsdType.YN:
        return yes_no(column)
    if esd_type is EsdType.DECIMAL:
        # Kept at the model's exact scale: limits.py refuses what SQUIZZ's 14.4 cannot hold, nothing is rounded.
        return to_decimals(column)
    if esd_type is EsdType.LONG:
        return column.astype(LONG_DTYPE)
    if esd_type is EsdType.ARRAY:
        lists = column.astype(TEXT_DTYPE).str.split(LIST_SEPARATOR).astype(object)
        return lists.where(lists.notna(), None)
    return column.astype(TEXT_DTYPE)


def yes_no(column: pd.Series) -> pd.Series:
    """Booleans as SQUIZZ's "Y"/"N" strings; NA stays NA (the platform default applies)."""
    flags = column.astype("boolean")
    out = pd.Series(np.where(flags.fillna(False).to_numpy(dtype=bool), "Y", "N"), index=column.index)
    return out.astype(TEXT_DTYPE).mask(flags.isna())


def _price_groups(used: pd.Series, members: pd.DataFrame) -> dict[str, list[str]]:
    groups = sorted(str(g) for g in used.dropna().unique())
    relevant = members[members["price_group_id"].isin(groups)]
    by_group = relevant.groupby("price_group_id")["organization_number"].agg(lambda s: sorted(map(str, s)))
    return {g: list(by_group.get(g, [])) for g in groups}
