"""Company and Customer documents as JSON text, written column by column (`targets/core/json_columns`).

The same documents `NorcePayload.documents` builds as dicts (which the XML
serialization and the X-StormConnect-Header still read), as
`connect.encode_body` writes them: every managed member on every document, null
where the hub has no value, in the same order. Exact decimals are written in
their shortest spelling (12.5 for 12.50): the same number to any JSON reader.

Every document is written from the same columns, so each carries the same
members by construction, which is what the header's FieldsThatAreSet claim.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model import LIST_SEPARATOR
from b2b_assets.model.frames import key_positions
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY
from b2b_assets.targets.core.json_columns import JsonArray, json_array, json_objects, nested_arrays
from b2b_assets.targets.norce.mapping import ACCOUNT, ADDRESS_MEMBERS, INVOICE, Envelope, NorcePayload

_PROBE = "v"  # the one member json_values writes and cuts off again
_OPENING = len('{"' + _PROBE + '":')


def json_documents(payload: NorcePayload, rows: pd.DataFrame, envelope: Envelope) -> JsonArray:
    """The JSON array of the documents of `rows` (a slice of payload.records), in `rows` order."""
    rows = rows.reset_index(drop=True)
    write = _company if payload.item_type == "Company" else _customer
    return json_array(_object(write(payload, rows, envelope)))


def _company(payload: NorcePayload, rows: pd.DataFrame, envelope: Envelope) -> dict[str, pa.Array]:
    n = len(rows)
    own = [c for c in rows.columns if c != RECORD_KEY and not c.startswith(INVOICE)
           and c not in ("PaymentMethods", "PriceList", "DiscountPercentage", "DiscountCategory")]
    invoice = _object({member: json_values(rows[INVOICE + member]) for member in ADDRESS_MEMBERS})
    price_list, discount = rows["PriceList"], rows["DiscountPercentage"]
    discounts = _object({"Type": _constant('"Category"', n), "ValueCode": json_values(rows["DiscountCategory"]),
                         "DiscountPercentage": json_values(discount)})
    return {
        "ApplicationKey": _constant(_quoted(envelope.application_key), n),
        **{name: json_values(rows[name]) for name in own},
        "InvoiceAddress": _where(rows[INVOICE + "Code"].notna(), invoice, "null"),
        "DeliveryAddresses": _addresses(payload.children, rows[RECORD_KEY]),
        "PaymentMethods": _codes(rows["PaymentMethods"]),
        "PriceLists": _where(_given(price_list), _wrapped(_object({"Code": json_values(price_list)})), "[]"),
        "Discounts": _where(_given(discount) & (discount.fillna(0) != 0).to_numpy(dtype=bool), _wrapped(discounts),
                            "[]"),
        "IsCustomerListDelta": _constant(_boolean(envelope.list_delta), n),
    }


def _customer(_payload: NorcePayload, rows: pd.DataFrame, envelope: Envelope) -> dict[str, pa.Array]:
    n = len(rows)
    own = [c for c in rows.columns if c != RECORD_KEY and c != "CompanyCode" and not c.startswith(ACCOUNT)]
    role = rows[ACCOUNT + "Role"]
    account = {"ApplicationKey": _constant(_quoted(envelope.application_key), n),
               "LoginName": json_values(rows[ACCOUNT + "LoginName"]),
               "Status": json_values(rows[ACCOUNT + "Status"]),
               "Roles": _where(_given(role), _wrapped(_object({"Code": json_values(role)})), "[]")}
    if ACCOUNT + "Password" in rows.columns:
        account["Password"] = json_values(rows[ACCOUNT + "Password"])
    company = {"Code": json_values(rows["CompanyCode"]), "IsPrimary": _constant("true", n)}
    return {
        **{name: json_values(rows[name]) for name in own},
        "Companies": _wrapped(_object(company)),
        "Accounts": _wrapped(_object(account)),
        "IsCompanyListDelta": _constant(_boolean(envelope.list_delta), n),
    }


def json_values(column: pd.Series) -> pa.Array:
    """Each value of `column` as JSON text, `null` where NA (json_objects writes members, leaving NA out)."""
    written = json_objects(pd.DataFrame({_PROBE: column.reset_index(drop=True)}))
    value = pc.utf8_slice_codeunits(written, _OPENING, -1)
    return pc.if_else(pc.equal(pc.binary_length(value), 0), pa.scalar("null", pa.large_string()), value)


def _addresses(children: pd.DataFrame | None, keys: pd.Series) -> pa.Array:
    """Each company's delivery addresses as a JSON array, in the payload's order, `[]` for none."""
    if children is None or children.empty:
        return _constant("[]", len(keys))
    owner = key_positions(children[PARENT_KEY], keys)
    mine = owner >= 0
    order = np.argsort(owner[mine], kind="stable")
    chosen = children[mine].iloc[order].reset_index(drop=True)
    objects = _object({c: json_values(chosen[c]) for c in chosen.columns if c != PARENT_KEY})
    return nested_arrays(objects, np.bincount(owner[mine], minlength=len(keys)))


def _codes(lists: pd.Series) -> pa.Array:
    """`[{"Code":...},...]` from a separated list of codes, `[]` where it is empty."""
    text = pa.array(lists.array, type=pa.large_string())
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    split = pc.split_pattern(text, LIST_SEPARATOR)
    codes = pd.Series(pd.arrays.ArrowExtensionArray(pc.list_flatten(split)))
    lengths = pc.list_value_length(split).fill_null(0).to_numpy(zero_copy_only=False)
    return nested_arrays(_object({"Code": json_values(codes)}), lengths)


def _object(members: Mapping[str, pa.Array]) -> pa.Array:
    """One JSON object per row with exactly these members (written values: none is left out)."""
    length = len(next(iter(members.values())))
    return json_objects(pd.DataFrame(index=pd.RangeIndex(length)), dict(members))


def _wrapped(objects: pa.Array) -> pa.Array:
    return nested_arrays(objects, np.ones(len(objects), dtype=np.int64))


def _given(column: pd.Series) -> np.ndarray:
    """Truthy as the dict documents test it: set, and not the empty string."""
    text = column.astype("string")
    return (text.notna() & (text != "")).to_numpy(dtype=bool)


def _where(condition: np.ndarray | pd.Series, written: pa.Array, otherwise: str) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(condition, dtype=bool)), written, pa.scalar(otherwise, pa.large_string()))


def _constant(text: str, length: int) -> pa.Array:
    return pa.array([text], pa.large_string()).take(pa.array(np.zeros(length, dtype=np.int64)))


def _quoted(text: str) -> str:
    return json_values(pd.Series([text], dtype="string[pyarrow]"))[0].as_py()


def _boolean(value: bool) -> str:
    return "true" if value else "false"
