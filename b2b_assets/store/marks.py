"""Outbound marks: what an object's last complete sync planned from, so that the next run can tell
nothing it depends on moved (the policy is pipeline/outbound_marks.py's; this is the storage).

A mark is one row per (target, object). Its JSON columns are compared as written, never
interpreted here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from b2b_assets.store.sql import upsert_insert, utcnow
from b2b_assets.store.tables import outbound_marks


@dataclass(frozen=True)
class Mark:
    run_id: str
    fingerprint: str  # what shapes the payload: code, settings, the object's identity
    inputs: dict[str, Any]  # hub versions of its entities, `left_sent` counters of the objects it references
    ledger: dict[str, Any]  # its own ledger `version` counter when the sync ended, and whether records wait
    counts: dict[str, int]  # what the sync counted that a skipped run reports again


class OutboundMarks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, target: str, entity_name: str) -> Mark | None:
        c = outbound_marks.c
        statement = select(c.run_id, c.fingerprint, c.inputs, c.ledger, c.counts).where(
            c.target == target, c.entity == entity_name)
        with self._engine.connect() as connection:
            row = connection.execute(statement).one_or_none()
        if row is None:
            return None
        return Mark(row.run_id, row.fingerprint, json.loads(row.inputs), json.loads(row.ledger), json.loads(row.counts))

    def put(self, target: str, entity_name: str, mark: Mark) -> None:
        values = dict(run_id=mark.run_id, fingerprint=mark.fingerprint, inputs=_json(mark.inputs),
                      ledger=_json(mark.ledger), counts=_json(mark.counts), marked_at=utcnow())
        with self._engine.begin() as connection:
            insert = upsert_insert(connection, outbound_marks).values(target=target, entity=entity_name, **values)
            connection.execute(insert.on_conflict_do_update(
                index_elements=[outbound_marks.c.target, outbound_marks.c.entity], set_=values))

    def forget(self, target: str, entity_name: str) -> None:
        c = outbound_marks.c
        with self._engine.begin() as connection:
            connection.execute(delete(outbound_marks).where(c.target == target, c.entity == entity_name))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
