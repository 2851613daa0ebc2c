"""Canonical hub frames -> JOOR connections, with column operations over whole entities.

One connection per customer organization. `to_payload` gives the contract's
`Payload`: `records` holds the connection-level fields (JOOR's names, from
`fields.CONNECTION_FIELDS`) and `children` every nested entry in one long
frame, `node` saying which 1-n node it belongs to (buyers, billing_addresses,
payment_methods, shipping_addresses, shipping_methods, customer_locations,
price_types, discounts, warehouses). The payload hash covers both, so one
changed buyer changes its connection's hash, and only that connection is sent.

Where the values come from:
- customer_code: organization_number (the stable key); customer_name, alias,
  company number, customer group, phone; customer_contact: contact_name;
  customer_contact_email: the organization's e-mail;
- sales_rep_code: the sales rep's code (its id when it has none);
- buyers: the organization's active users (name, title, e-mail, phone);
- billing / shipping addresses: its active locations of address_type billing /
  shipping (`both` is each), coded by location_id; customer_locations: its
  active primary location; countries are the hub's ISO 3166-1 alpha-2 codes,
  which JOOR accepts ("in English or in ISO Code format");
- payment methods: its payment types (code, label); shipping methods: its
  shipping_method code; warehouses: its sites (code, name; the id when no code);
- price types: currency, price_type_label, retail_currency; discounts: one
  discount of discount_percent (when above 0) with discount_line_item_level.

`documents` turns the rows being sent into nested dicts for the XML
encoding, and is the only per-record Python here (JSON jobs are written from
the columns, `json_documents`). `limits` checks the seed's table (lengths,
required fields, the state/zip required in US, CA, JP and AU, the nodes a
connection needs at least one of) and refuses a record for JOOR only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import LIST_SEPARATOR
from b2b_assets.model.frames import TEXT_DTYPE, key_isin
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload
from b2b_assets.targets.joor.fields import (
    CONNECTION_FIELDS,
    CONNECTION_REQUIRED,
    NODE_BY_NAME,
    NODES,
    STATE_COUNTRIES,
    Node,
)

SOURCE_ENTITIES = ("organizations", "users", "locations", "sales_reps", "payment_types", "sites")
# An organization's connection takes only its own users and locations (by organization_number) and values
# looked up by key: the core may map it a key range of organizations at a time, the lookups whole.
RANGE_COLUMNS = (("users", "organization_number"), ("locations", "organization_number"))
LOOKUPS = ("sales_reps", "payment_types", "sites")
NODE = "node"  # the children column naming an entry's node
NOT_TEXT = {"amount": "float64[pyarrow]", "line_item_level": "boolean", "shipping_create_doors": "boolean"}


def to_payload(frames: Mapping[str, pd.DataFrame]) -> Payload:
    """The connections of the organizations in `frames`, with every nested entry of theirs."""
    missing = [name for name in SOURCE_ENTITIES if name not in frames]
    if missing:
        raise ValueError(f"JOOR connections need the canonical frames {missing}; got {sorted(frames)}")
    orgs = frames["organizations"].reset_index(drop=True)
    reps = _lookup(frames["sales_reps"], "sales_rep_id", "code")
    records = pd.DataFrame({
        RECORD_KEY: _text(orgs["organization_number"]),
        "customer_code": _text(orgs["organization_number"]),
        "customer_name": _text(orgs["organization_name"]),
        "customer_alias": _text(orgs["alias"]),
        "company_number_name": _text(orgs["company_number_name"]),
        "company_number_code": _text(orgs["company_number_code"]),
        "customer_group_name": _text(orgs["customer_group_name"]),
        "customer_group_code": _text(orgs["customer_group_code"]),
        "customer_phone": _text(orgs["phone"]),
        "customer_contact": _text(orgs["contact_name"]),
        "customer_contact_email": _text(orgs["email"]),
        "sales_rep_code": _text(orgs["sales_rep_id"]).map(reps).fillna(_text(orgs["sales_rep_id"])).astype(TEXT_DTYPE),
    })
    keys = records[RECORD_KEY]
    children = _children(keys, [
        _buyers(frames["users"]),
        *_addresses(frames["locations"]),
        _listed(orgs, "payment_type_ids", frames["payment_types"], "payment_type_id", "payment_methods",
                {"payment_method_code": "code", "payment_method_name": "label"}),
        _own(orgs, "shipping_methods", {"shipping_method_code": orgs["shipping_method"]}),
        _own(orgs, "price_types", {"price_type_currency_code": orgs["currency"],
                                   "price_type_label": orgs["price_type_label"],
                                   "price_type_retail_currency_code": orgs["retail_currency"]}),
        _discounts(orgs),
        _listed(orgs, "site_ids", frames["sites"], "site_id", "warehouses",
                {"warehouse_code": "code", "warehouse_name": "name"}),
    ])
    return Payload(records, children)


def documents(payload: Payload, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Nested connection documents for `rows` (a slice of payload.records), empty values left out."""
    columns = [c for c in rows.columns if c != RECORD_KEY and not c.startswith("_")]
    docs = [_without_na(r) for r in rows[columns].to_dict("records")]
    by_key = dict(zip(rows[RECORD_KEY].tolist(), docs))
    children = payload.children_of(rows)
    if children is not None and not children.empty:
        entry_columns = [c for c in children.columns if c not in (PARENT_KEY, NODE)]
        entries = [_without_na(r) for r in children[entry_columns].to_dict("records")]
        for parent, node_name, entry in zip(children[PARENT_KEY].tolist(), children[NODE].tolist(), entries):
            node = NODE_BY_NAME[node_name]
            doc = by_key[parent]
            holder = doc.setdefault(node.group, {}) if node.group else doc
            holder.setdefault(node.name, []).append(entry)
    return docs


def limits(payload: Payload) -> pd.Series:
    """record_key -> why JOOR would refuse the connection (the seed table's rules), one string per record."""
    records, children = payload.records, payload.children
    found: list[pd.Series] = []
    for name, maximum in CONNECTION_FIELDS.items():
        found.append(_too_long(records[RECORD_KEY], records[name], name, maximum))
    for name in CONNECTION_REQUIRED:
        found.append(_reason(records[RECORD_KEY], records[name].isna(), f"{name} is required by JOOR and is empty"))
    for node in NODES:
        entries = children[children[NODE] == node.name] if children is not None else None
        found.extend(_node_problems(records[RECORD_KEY], entries, node))
    found = [f for f in found if not f.empty]
    if not found:
        return pd.Series([], dtype=TEXT_DTYPE)
    return pd.concat(found).groupby(level=0, sort=False).agg("; ".join).astype(TEXT_DTYPE)


# --- the nodes ----------------------------------------------------------------------------------------------

def _buyers(users: pd.DataFrame) -> pd.DataFrame:
    active = users[users["active"].fillna(True).astype(bool)]
    return _entries("buyers", active["organization_number"], {
        "buyer_name": active["name"], "buyer_title": active["title"], "buyer_email": active["email"],
        "buyer_phone": active["phone"]})


def _addresses(locations: pd.DataFrame) -> list[pd.DataFrame]:
    active = locations[locations["status"].fillna("active") == "active"]
    kind = active["address_type"].fillna("shipping")
    out = []
    for node, prefix, postal, wanted in (("billing_addresses", "billing", "billing_postal_code", ("billing", "both")),
                                         ("shipping_addresses", "shipping", "shipping_postal_code",
                                          ("shipping", "both"))):
        rows = active[kind.isin(wanted)]
        out.append(_entries(node, rows["organization_number"], {
            f"{prefix}_code": rows["location_id"], f"{prefix}_name": rows["location_name"],
            **_address_columns(rows, prefix, postal)}))
    primary = active[active["is_primary"].fillna(False).astype(bool)]
    out.append(_entries("customer_locations", primary["organization_number"],
                        _address_columns(primary, "location", "location_zip")))
    return out


def _address_columns(rows: pd.DataFrame, prefix: str, postal: str) -> dict[str, pd.Series]:
    return {f"{prefix}_phone": rows["phone"], f"{prefix}_address_1": rows["address1"],
            f"{prefix}_address_2": rows["address2"], f"{prefix}_city": rows["city"], f"{prefix}_state": rows["state"],
            postal: rows["postal_code"], f"{prefix}_country": rows["country"]}


def _listed(orgs: pd.DataFrame, list_column: str, table: pd.DataFrame, table_key: str, node: str,
            columns: Mapping[str, str]) -> pd.DataFrame:
    """Entries from another entity an organization lists by key (payment types, sites), in list order.

    A listed key the hub lacks is left out (the hub reports it as a dangling reference); the first
    joor field's source falls back to the key itself when empty (a site without a code).
    """
    lists = pc.split_pattern(pa.array(_text(orgs[list_column]).array), LIST_SEPARATOR)
    listed = pd.DataFrame({  # Arrow splits and flattens the lists: no Python list per organization
        "parent": _text(orgs["organization_number"]).to_numpy()[pc.list_parent_indices(lists).to_numpy()],
        table_key: pd.Series(pd.arrays.ArrowExtensionArray(pc.list_flatten(lists)), dtype=TEXT_DTYPE).array})
    listed = listed[listed[table_key].notna() & (listed[table_key] != "")]
    joined = listed.merge(table.astype({table_key: TEXT_DTYPE}), on=table_key, how="inner", sort=False)
    values = {field: joined[source] for field, source in columns.items()}
    code_field = next(iter(columns))
    values[code_field] = _text(values[code_field]).fillna(joined[table_key])
    return _entries(node, joined["parent"], values)


def _own(orgs: pd.DataFrame, node: str, values: Mapping[str, pd.Series]) -> pd.DataFrame:
    """One entry per organization from its own columns, where any of them is set."""
    frame = pd.DataFrame({k: _text(v) for k, v in values.items()})
    present = frame.notna().any(axis=1)
    return _entries(node, orgs["organization_number"][present], {k: v[present] for k, v in frame.items()})


def _discounts(orgs: pd.DataFrame) -> pd.DataFrame:
    amount = orgs["discount_percent"].astype("float64[pyarrow]")
    given = (amount > 0).fillna(False).astype(bool)
    return _entries("discounts", orgs["organization_number"][given], {
        "amount": amount[given], "line_item_level": orgs["discount_line_item_level"][given].astype("boolean")})


def _entries(node: str, parents: pd.Series, values: Mapping[str, pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame({PARENT_KEY: _text(parents).array, NODE: pd.array([node] * len(parents), dtype=TEXT_DTYPE)})
    for name, column in values.items():
        frame[name] = column.astype(NOT_TEXT[name]).array if name in NOT_TEXT else _text(column).array
    return frame


def _children(keys: pd.Series, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Every node's entries in one frame, only for these connections, in a stable order."""
    # The parts come node by node in NODES order, each in its mapping order, so once filtered every
    # connection's entries are grouped by node in that order: no sort (of 1M text keys) is needed.
    # The columns keep the order of `parts` (they name the payload hash's fields), every node's whether or
    # not it has entries here: a connection must hash the same mapped alone, in a key range or with all.
    columns = [*dict.fromkeys(c for p in parts for c in p.columns)]
    parts = [p for p in parts if not p.empty]
    order = {node.name: i for i, node in enumerate(NODES)}
    parts.sort(key=lambda p: order[p[NODE].iloc[0]])
    keep = key_isin(_stacked(parts, PARENT_KEY), keys)
    frame = pd.DataFrame({column: _stacked(parts, column)[keep] for column in columns})
    for column, dtype in NOT_TEXT.items():
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
    return frame


def _stacked(parts: list[pd.DataFrame], column: str) -> pd.Series:
    """One column of every part, one after another, NA for the parts that lack it.

    Stacked column by column, not with pd.concat, which fills a missing Arrow column with objects and
    takes most of the mapping's time over a frame this wide and sparse.
    """
    dtype = NOT_TEXT.get(column, TEXT_DTYPE)
    if dtype != TEXT_DTYPE:
        pieces = [p[column] if column in p.columns else pd.Series(pd.NA, index=p.index, dtype=dtype) for p in parts]
        return pd.concat(pieces, ignore_index=True).astype(dtype) if pieces else pd.Series([], dtype=dtype)
    arrays = [pa.array(p[column].array) if column in p.columns else pa.nulls(len(p), pa.string()) for p in parts]
    stacked = pa.chunked_array([c.cast(pa.string()) for a in arrays
                                for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])], type=pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(stacked), dtype=TEXT_DTYPE)


# --- limits -------------------------------------------------------------------------------------------------

def _node_problems(keys: pd.Series, entries: pd.DataFrame | None, node: Node) -> list[pd.Series]:
    found = []
    if node.min_entries:
        have = entries[PARENT_KEY].value_counts() if entries is not None else pd.Series([], dtype="int64")
        short = keys.map(have).fillna(0).astype(int) < node.min_entries
        found.append(_reason(keys, short, f"{node.name}: JOOR needs at least {node.min_entries}; the hub has none"))
    if entries is None or entries.empty:
        return found
    owners = entries[PARENT_KEY]
    label = (" (" + entries[node.label].fillna("?") + ")") if node.label else pd.Series("", index=entries.index)
    for name in node.text_fields:
        if name not in entries.columns:
            continue  # a field of the table the model has nothing for (buyer_fax)
        found.append(_too_long(owners, entries[name], f"{node.name}.{name}", node.text_max, label))
    for name in node.required:
        found.append(_reason(owners, entries[name].isna(), f"{node.name}.{name} is required by JOOR and is empty",
                             label))
    if node.conditional:
        name, country = node.conditional
        needed = entries[country].isin(STATE_COUNTRIES).fillna(False).astype(bool) & entries[name].isna()
        text = f"{node.name}.{name} is required by JOOR when the country is " + entries[country].fillna("")
        found.append(_reason(owners, needed, text, label))
    return found


def _too_long(owners: pd.Series, column: pd.Series, name: str, maximum: int,
              label: pd.Series | None = None) -> pd.Series:
    lengths = _text(column).str.len()
    over = (lengths > maximum).fillna(False).astype(bool)
    if not over.any():
        return pd.Series([], dtype=TEXT_DTYPE)
    text = f"{name} is " + lengths.astype("Int64").astype(TEXT_DTYPE) + f" characters; JOOR accepts at most {maximum}"
    return _reason(owners, over, text, label)


def _reason(owners: pd.Series, hit: pd.Series, text: str | pd.Series, label: pd.Series | None = None) -> pd.Series:
    """`text` (one string, or one per row of `owners`) for the rows `hit`, indexed by their record_key."""
    hit = np.asarray(hit, dtype=bool)
    if not hit.any():
        return pd.Series([], dtype=TEXT_DTYPE)
    reasons = pd.Series(text, index=owners.index).astype(TEXT_DTYPE)
    if label is not None:
        reasons = reasons + label
    return pd.Series(reasons[hit].to_numpy(), index=owners[hit].to_numpy(), dtype=TEXT_DTYPE)


# --- small helpers ------------------------------------------------------------------------------------------

def _text(column: pd.Series) -> pd.Series:
    return column.astype(TEXT_DTYPE)


def _lookup(table: pd.DataFrame, key: str, value: str) -> pd.Series:
    return pd.Series(_text(table[value]).to_numpy(), index=_text(table[key]).to_numpy()).dropna()


def _without_na(record: dict) -> dict:
    return {k: _plain(v) for k, v in record.items() if not _is_na(v)}


def _is_na(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
