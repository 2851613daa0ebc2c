"""The Customer Sync file encoding of JOOR connections: one row per billing or shipping address.

The connections come from the Bulk Connection API's mapping
(`mapping.to_payload`); `to_file_payload` adds the three values only the
file's table has (alternate_name from org_name, website, shipping_email from
the location's e-mail). `file_rows` lays a payload out as the file's rows
with column operations (the customer's own columns repeated on each of its
address rows, 1-n nodes as numbered columns as wide as the file needs, at
least `_1`), `encode` writes them with the csv module's quoting, and `limits`
checks the seed's table on those same rows, refusing a customer for this
target only.

Escaping: a value holding the delimiter, a double quote, a CR or an LF is
enclosed in double quotes, with inner quotes doubled (RFC 4180 with the
configured delimiter). Any CSV reader given the delimiter reads it back
exactly; the sandbox's intake does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import TEXT_DTYPE, key_isin
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload
from b2b_assets.targets.joor.fields import STATE_COUNTRIES
from b2b_assets.targets.joor.file_fields import (
    ADDRESS_TYPE, ADDRESSES, BOOLEAN_TEXT, CUSTOMER_COLUMNS, DISCOUNT_COLUMNS, DISCOUNT_DIGITS, MAX_LENGTH,
    REPEATED, REQUIRED, REQUIRED_FIRST, REQUIRED_WITH, SALES_REP_COLUMN,
)
from b2b_assets.targets.joor.mapping import NODE, to_payload

DEFAULT_DELIMITER = "|"  # the seed's recommendation: "unlikely to appear in the customer data"
LINE_TERMINATOR = "\r\n"
ENCODE_ROWS = 20_000  # file rows encoded at a time (see encode)


def to_file_payload(frames: Mapping[str, pd.DataFrame]) -> Payload:
    """The API's connections plus the file-only values: alternate name, website, shipping e-mail."""
    payload = to_payload(frames)
    orgs = frames["organizations"].reset_index(drop=True)
    payload.records["alternate_name"] = orgs["org_name"].astype(TEXT_DTYPE).to_numpy()
    payload.records["website"] = orgs["website"].astype(TEXT_DTYPE).to_numpy()
    children = payload.children
    locations = frames["locations"]
    email = pd.Series(locations["email"].astype(TEXT_DTYPE).to_numpy(),
                      index=pd.MultiIndex.from_arrays([locations["organization_number"].astype(TEXT_DTYPE),
                                                       locations["location_id"].astype(TEXT_DTYPE)]))
    shipping = (children[NODE] == "shipping_addresses").to_numpy()
    # No shipping address at all (or no customer: an export without organizations) leaves no such column.
    codes = children.get("shipping_code", pd.Series(pd.NA, index=children.index, dtype=TEXT_DTYPE))
    at = pd.MultiIndex.from_arrays([children[PARENT_KEY], codes])
    children["shipping_email"] = pd.Series(email.reindex(at).to_numpy(), dtype=TEXT_DTYPE).where(shipping)
    return payload



def file_rows(payload: Payload, records: pd.DataFrame | None = None,
              widths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The file's rows for `records` (default: all of the payload's), RECORD_KEY first, then the header's columns.

    Rows come customer by customer in `records` order, shipping rows before billing rows, each node's
    entries in the mapping's order. A customer without any address has no row. `widths`: at least this
    many numbered columns of these nodes (`numbered_widths` of the other rows of the same file).
    """
    records = payload.records if records is None else records
    children = payload.children_of(records)
    if children is None:
        children = pd.DataFrame({PARENT_KEY: pd.Series([], dtype=TEXT_DTYPE), NODE: pd.Series([], dtype=TEXT_DTYPE)})
    keys = records[RECORD_KEY].astype(TEXT_DTYPE)
    customer = pd.DataFrame({column: records[source].astype(TEXT_DTYPE).to_numpy()
                             for column, source in CUSTOMER_COLUMNS.items()}, index=keys.to_numpy())
    customer = customer.join(_discount(children))
    customer[SALES_REP_COLUMN] = records[SALES_REP_COLUMN].astype(TEXT_DTYPE).to_numpy()
    used = {}
    for repeated in REPEATED:
        entries = _entries_of(children, repeated.node, repeated.columns.values())
        numbered = _numbered(entries, repeated.columns, (widths or {}).get(repeated.node, 1))
        used[repeated.node] = len(numbered.columns) // len(repeated.columns)
        customer = customer.join(numbered)
    addresses = pd.concat([_address_rows(children, kind) for kind in ADDRESSES], ignore_index=True)
    order = pd.Series(np.arange(len(keys)), index=keys.to_numpy())
    addresses = (addresses.assign(_customer=addresses[RECORD_KEY].map(order).to_numpy())
                 .sort_values(["_customer", "_kind", "_entry"], kind="stable"))
    rows = addresses.drop(columns=["_customer", "_kind", "_entry"]).join(customer, on=RECORD_KEY)
    return rows[[RECORD_KEY, *file_columns(used)]].astype(TEXT_DTYPE).reset_index(drop=True)


def file_columns(widths: Mapping[str, int]) -> list[str]:
    """The file's header: the customer's columns, each repeated node's numbered columns (`widths` of them,
    entry by entry), the row type and the address columns."""
    numbered = [f"{stem}_{n}" for repeated in REPEATED for n in range(1, widths[repeated.node] + 1)
                for stem in repeated.columns]
    addresses = [f"{stem}_1" for kind in ADDRESSES for stem in kind.columns]
    return [*CUSTOMER_COLUMNS, *DISCOUNT_COLUMNS, SALES_REP_COLUMN, *numbered, ADDRESS_TYPE, *addresses]


def encode(rows: pd.DataFrame, delimiter: str = DEFAULT_DELIMITER) -> bytes:
    """The file's bytes: UTF-8, a header row, values quoted where they hold the delimiter, a quote or a newline.

    Written column by column in Arrow, byte for byte what the csv module writes with QUOTE_MINIMAL
    (pandas' to_csv took most of a full sync's client time).
    """
    check_delimiter(delimiter)
    columns = [c for c in rows.columns if c != RECORD_KEY]
    return b"".join([header_line(columns, delimiter), *encoded_lines(rows, columns, delimiter)])


def check_delimiter(delimiter: str) -> None:
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"the Customer Sync delimiter must be one character other than a quote or a newline, "
                         f"not {delimiter!r}")


def header_line(columns: list[str], delimiter: str) -> bytes:
    """The file's first line: the column names."""
    header = delimiter.join(_quoted_field(pa.array([c], pa.large_string()), delimiter)[0].as_py() for c in columns)
    return (header + LINE_TERMINATOR).encode("utf-8")


def encoded_lines(rows: pd.DataFrame, columns: list[str], delimiter: str) -> Iterator[bytes]:
    """The rows' `columns` as the file's lines, a slice of rows at a time: the file's text is built in Arrow
    several times over (fields, lines, the join), so a whole file at once held about nine times its size
    (1 GB for 100,000 customers at L)."""
    for start in range(0, len(rows), ENCODE_ROWS):
        yield _lines(rows.iloc[start:start + ENCODE_ROWS], columns, delimiter)


def _lines(rows: pd.DataFrame, columns: list[str], delimiter: str) -> bytes:
    """The rows as the file's lines, each ended by LINE_TERMINATOR, UTF-8."""
    fields = [pc.fill_null(_quoted_field(_large_text(rows[c]), delimiter), pa.scalar("", pa.large_string()))
              for c in columns]
    lines = pc.binary_join_element_wise(*fields, pa.scalar(delimiter, pa.large_string())) if len(fields) > 1 \
        else fields[0]
    one = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
    body = pc.binary_join(one, pa.scalar(LINE_TERMINATOR, pa.large_string()))[0]
    return body.as_buffer().to_pybytes() + LINE_TERMINATOR.encode("utf-8")


def _large_text(column: pd.Series) -> pa.Array:
    values = pa.array(column.astype(TEXT_DTYPE).array).cast(pa.large_string())
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _quoted_field(values: pa.Array, delimiter: str) -> pa.Array:
    """Each value as a CSV field: enclosed in double quotes (inner ones doubled) where it needs them."""
    needs = np.logical_or.reduce([pc.fill_null(pc.match_substring(values, c), False).to_numpy(zero_copy_only=False)
                                  for c in (delimiter, '"', "\r", "\n")])
    if not needs.any():
        return values
    quote = pa.scalar('"', pa.large_string())
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(values, '"', '""'), quote,
                                         pa.scalar("", pa.large_string()))
    return pc.if_else(pa.array(needs), quoted, values)


def limits(payload: Payload) -> pd.Series:
    """record_key -> why JOOR's Customer Sync would refuse the customer (seed 001's table), for this target only."""
    rows = file_rows(payload)
    keys = rows[RECORD_KEY]
    found: list[pd.Series] = []
    without_rows = ~key_isin(payload.records[RECORD_KEY], keys)
    found.append(_reasons(payload.records[RECORD_KEY], without_rows,
                          "JOOR Customer Sync needs at least one billing or shipping address; the hub has none"))
    for column in rows.columns[1:]:
        maximum = MAX_LENGTH.get(column, MAX_LENGTH.get(_stem(column)))
        if maximum is not None:
            lengths = rows[column].str.len()
            over = (lengths > maximum).fillna(False).to_numpy(dtype=bool)
            if over.any():  # the reason text only for the rows that need one
                found.append(_reasons(keys[over], np.ones(over.sum(), dtype=bool), f"{column} is "
                                      + lengths[over].astype("Int64").astype(TEXT_DTYPE)
                                      + f" characters; JOOR Customer Sync accepts at most {maximum}"))
    for column in (*REQUIRED, *(f"{stem}_1" for stem in REQUIRED_FIRST)):
        found.append(_reasons(keys, rows[column].isna(), f"{column} is required by JOOR Customer Sync and is empty"))
    for kind in ADDRESSES:
        on_row = rows[ADDRESS_TYPE] == kind.row_type
        label = " (" + rows[f"{kind.code}_1"].fillna("?") + ")"
        for column in (f"{kind.code}_1", f"{kind.country}_1"):
            found.append(_reasons(keys, on_row & rows[column].isna(),
                                  f"{column} is required on {kind.row_type} rows and is empty" + label))
        country = rows[f"{kind.country}_1"]
        needs_state = on_row & country.isin(STATE_COUNTRIES).fillna(False) & rows[f"{kind.state}_1"].isna()
        found.append(_reasons(keys, needs_state, f"{kind.state}_1 is required by JOOR Customer Sync when the "
                                                 "country is " + country.fillna("") + label))
    for column, needed_by in REQUIRED_WITH:
        for name in [c for c in rows.columns if c == needed_by or _stem(c) == needed_by]:
            partner = column + name[len(needed_by):]
            found.append(_reasons(keys, rows[name].notna() & rows[partner].isna(),
                                  f"{partner} is required by JOOR Customer Sync when {name} is given"))
    discount = rows["discount"]
    not_integer = discount.notna() & ~discount.str.fullmatch(rf"\d{{1,{DISCOUNT_DIGITS}}}").fillna(False)
    found.append(_reasons(keys, not_integer, "discount " + discount.fillna("") + " is not a whole number of at "
                                             f"most {DISCOUNT_DIGITS} digits, as JOOR Customer Sync requires"))
    found = [f for f in found if not f.empty]
    if not found:
        return pd.Series([], dtype=TEXT_DTYPE)
    unique = pd.concat(found).reset_index().drop_duplicates()
    return unique.groupby("index", sort=False)[0].agg("; ".join).astype(TEXT_DTYPE).rename_axis(None)


# --- the parts of a row ---------------------------------------------------------------------------------------

def _entries_of(children: pd.DataFrame, node: str, columns) -> pd.DataFrame:
    """One node's entries, with only the columns wanted (picked before the rows: children is wide)."""
    return children.reindex(columns=[PARENT_KEY, *columns])[(children[NODE] == node).to_numpy(dtype=bool)]


def _discount(children: pd.DataFrame) -> pd.DataFrame:
    entries = _entries_of(children, "discounts", ("amount", "line_item_level")).drop_duplicates(PARENT_KEY)
    amount = entries["amount"].astype("float64")
    whole = (amount == amount.round()).to_numpy()
    text = np.where(whole, amount.round().astype("Int64").astype(str), amount.astype(str))
    level = entries["line_item_level"].astype("boolean").map(BOOLEAN_TEXT, na_action="ignore")
    return pd.DataFrame({"discount": text, "discount_line_item_level": level.to_numpy()},
                        index=entries[PARENT_KEY].to_numpy()).astype(TEXT_DTYPE)


def numbered_widths(rows: pd.DataFrame) -> dict[str, int]:
    """How many numbered columns of each repeated node `rows` (file_rows) have."""
    widths = {}
    for repeated in REPEATED:
        stem, width = next(iter(repeated.columns)), 1
        while f"{stem}_{width + 1}" in rows.columns:
            width += 1
        widths[repeated.node] = width
    return widths


def _numbered(entries: pd.DataFrame, columns: Mapping[str, str], at_least: int = 1) -> pd.DataFrame:
    """A node's entries as `<stem>_<n>` columns, n from 1 in entry order, as many as the most any customer has."""
    number = entries.groupby(PARENT_KEY, sort=False).cumcount() + 1
    width = max(at_least, int(number.max()) if len(number) else 1)
    wide = pd.DataFrame(index=pd.Index(entries[PARENT_KEY].unique()))
    for n in range(1, width + 1):
        nth = entries[(number == n).to_numpy()].set_index(PARENT_KEY)
        for stem, source in columns.items():
            wide[f"{stem}_{n}"] = nth[source].astype(TEXT_DTYPE)
    return wide


def _address_rows(children: pd.DataFrame, kind) -> pd.DataFrame:
    entries = _entries_of(children, kind.node, kind.columns.values())
    frame = pd.DataFrame({RECORD_KEY: entries[PARENT_KEY].astype(TEXT_DTYPE).to_numpy(),
                          ADDRESS_TYPE: kind.row_type, "_kind": 0 if kind.row_type == "S" else 1,
                          "_entry": np.arange(len(entries))})
    for other in ADDRESSES:
        for stem, source in other.columns.items():
            values = entries[source].to_numpy() if other is kind else pd.NA
            frame[f"{stem}_1"] = pd.Series(values, index=frame.index, dtype=TEXT_DTYPE)
    return frame


def _stem(column: str) -> str:
    stem, _, number = column.rpartition("_")
    return stem if number.isdigit() else column


def _reasons(keys: pd.Series, hit: pd.Series, text: str | pd.Series) -> pd.Series:
    hit = np.asarray(hit, dtype=bool)
    if not hit.any():
        return pd.Series([], dtype=TEXT_DTYPE)
    reasons = pd.Series(text, index=keys.index).astype(TEXT_DTYPE)
    return pd.Series(reasons[hit].to_numpy(), index=keys[hit].to_numpy(), dtype=TEXT_DTYPE)
