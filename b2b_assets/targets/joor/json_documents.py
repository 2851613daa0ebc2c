"""Connection documents as JSON text, written column by column (`targets/core/json_columns`), no dict per record.

The same documents `mapping.documents` builds as nested dicts for the XML
encoding, and `json.dumps` would write: the connection's fields in column
order with empty ones left out, then its nodes in the seed's order (`NODES`),
those in a group (`billing`, `shipping`) inside that group's object, a node or
group the connection has no entries for left out, each entry's empty fields
left out. Only the separators differ (compact here), which no JSON reader sees.

A 500-connection job with its buyers, addresses and methods costs a few Arrow
kernels per column and node instead of a Python dict per connection and per
entry (the dicts took most of the client's time at 100k organizations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import key_positions
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload
from b2b_assets.targets.core.json_columns import JsonArray, json_array, json_objects, nested_arrays
from b2b_assets.targets.joor.fields import NODES, Node
from b2b_assets.targets.joor.mapping import NODE, NOT_TEXT

_NULL = pa.scalar(None, pa.large_string())


def json_connections(payload: Payload, rows: pd.DataFrame) -> JsonArray:
    """The JSON array of the connection documents of `rows` (a slice of payload.records), in `rows` order."""
    columns = [c for c in rows.columns if c != RECORD_KEY and not c.startswith("_")]
    children = payload.children_of(rows)
    members: dict[str, pa.Array | dict[str, pa.Array]] = {}
    for node in NODES:  # a group's nodes are next to each other in NODES, so the group sits where its first one does
        written = _node_arrays(children, node, rows[RECORD_KEY])
        if node.group is None:
            members[node.name] = written
        else:
            members.setdefault(node.group, {})[node.name] = written
    members = {name: _object_or_null(group) if isinstance(group, dict) else group for name, group in members.items()}
    return json_array(json_objects(rows[columns].reset_index(drop=True), members))


def _object_or_null(group: dict[str, pa.Array]) -> pa.Array:
    """`{"node":[...],...}` per connection from its nodes' arrays, null where every one of them is."""
    length = len(next(iter(group.values())))
    written = json_objects(pd.DataFrame(index=pd.RangeIndex(length)), group)
    empty = np.logical_and.reduce([pc.is_null(a).to_numpy(zero_copy_only=False) for a in group.values()])
    return pc.if_else(pa.array(empty), _NULL, written)


def _node_arrays(children: pd.DataFrame | None, node: Node, keys: pd.Series) -> pa.Array:
    """One JSON array text per connection of `keys` holding its entries of `node`, null where it has none."""
    if children is None or children.empty:
        return pa.nulls(len(keys), pa.large_string())
    entries = children[(children[NODE] == node.name).to_numpy()]
    owner = key_positions(entries[PARENT_KEY], keys)
    order = np.argsort(owner, kind="stable")  # connection by connection, each one's entries in mapping order
    entries, owner = entries.iloc[order], owner[order]
    fields = [c for c in children.columns if c in node.fields]
    if not any(NOT_TEXT.get(c, "").startswith("float") for c in fields):
        objects = json_objects(entries[fields].reset_index(drop=True))
    else:  # json_columns writes no floats: a discount's amount and flag are spelled here, as json.dumps does
        objects = json_objects(pd.DataFrame(index=pd.RangeIndex(len(entries))),
                               {c: _not_text(entries[c]) for c in fields})
    lengths = np.bincount(owner, minlength=len(keys)) if len(owner) else np.zeros(len(keys), dtype=np.int64)
    return pc.if_else(pa.array(lengths == 0), _NULL, nested_arrays(objects, lengths))


def _not_text(column: pd.Series) -> pa.Array:
    """A float or boolean column's JSON values (`repr` of the float, as json.dumps), null where NA."""
    if column.dtype not in ("boolean", "float64[pyarrow]"):
        raise TypeError(f"{column.name} ({column.dtype}) is neither a float nor a boolean")
    codes, distinct = pd.factorize(column, use_na_sentinel=True)  # spelled once per distinct value
    if column.dtype == "boolean":
        spelled = ["true" if value else "false" for value in distinct]
    else:
        spelled = [repr(float(value)) for value in distinct]
    table = pa.array(spelled + [None], pa.large_string())
    return table.take(pa.array(np.where(codes >= 0, codes, len(spelled))))
