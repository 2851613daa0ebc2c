"""Held records: kept out of the hub because a record they reference does not exist yet.

Seed 000 skips a location or user whose organization is missing; we hold it
instead and try again on every later run: `load` gives the held records back
to be re-checked with the new input, `hold` keeps the ones still missing a
parent (attempts += 1) and `release` forgets the ones that landed in the hub.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Engine, delete, func, select

from b2b_assets.model.frames import cast_frame
from b2b_assets.store.engine import write_transaction
from b2b_assets.store.keys import as_entity, record_key
from b2b_assets.store.sql import BATCH_SIZE, batches, column_values, count, in_lists, upsert_insert, utcnow
from b2b_assets.store.tables import held_records

HELD_REASON, MISSING_REFERENCE, HELD_ATTEMPTS = "_held_reason", "_missing_reference", "_held_attempts"
_IN_CHUNK = 500  # keys per DELETE ... IN (...) statement


def _aligned(values: pd.Series | str | None, index: pd.Index) -> list[str | None]:
    """`values` as one text per row of a frame with `index` (a str applies to every row)."""
    if values is None or isinstance(values, str):
        return [values] * len(index)
    if not values.index.equals(index):
        values = values.reindex(index)
    return column_values(values.astype("string[pyarrow]"))


class HeldRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def hold(self, entity_name: str, frame: pd.DataFrame, reasons: pd.Series | str,
             missing_references: pd.Series | str | None = None) -> int:
        """Keep the records of `frame` out of the hub, with why (`reasons`, aligned with frame's index).

        `missing_references` optionally names the reference that is missing
        (e.g. "organization_number->organizations"). Records already held get
        their payload and reason refreshed and `attempts` incremented.
        Returns the number of records held by this call.
        """
        ent = as_entity(entity_name)
        canonical = cast_frame(ent, frame)
        keys = record_key(ent, canonical)
        keep = (~keys.duplicated(keep="last")).to_numpy()
        canonical, keys = canonical[keep], keys[keep]
        if canonical.empty:
            return 0
        why = [r for r, k in zip(_aligned(reasons, frame.index), keep) if k]
        missing = [m for m, k in zip(_aligned(missing_references, frame.index), keep) if k]
        payloads = [json.dumps(dict(zip(ent.columns, row)), ensure_ascii=False, separators=(",", ":"))
                    for row in zip(*[column_values(canonical[c]) for c in ent.columns])]
        frame_of_rows = pd.DataFrame({
            "record_key": column_values(keys),
            "payload": payloads,
            "reason": why,
            "missing_reference": missing,
        })
        now = utcnow()
        with write_transaction(self._engine) as connection:
            insert = upsert_insert(connection, held_records)
            statement = insert.on_conflict_do_update(
                index_elements=[held_records.c.entity, held_records.c.record_key],
                set_={
                    "payload": insert.excluded.payload,
                    "reason": insert.excluded.reason,
                    "missing_reference": insert.excluded.missing_reference,
                    "last_tried_at": insert.excluded.last_tried_at,
                    "attempts": held_records.c.attempts + 1,
                },
            )
            for batch in batches(frame_of_rows, BATCH_SIZE):
                rows = [dict(zip(batch.columns, row)) for row in zip(*[batch[c].tolist() for c in batch.columns])]
                for row in rows:
                    row.update(entity=ent.name, first_held_at=now, last_tried_at=now, attempts=1)
                connection.execute(statement, rows)
        return len(frame_of_rows)

    def load(self, entity_name: str) -> pd.DataFrame:
        """The held records of an entity as a canonical frame (record_key order), plus
        `_held_reason`, `_missing_reference` and `_held_attempts` columns."""
        ent = as_entity(entity_name)
        statement = (select(held_records.c.payload, held_records.c.reason, held_records.c.missing_reference,
                            held_records.c.attempts)
                     .where(held_records.c.entity == ent.name).order_by(held_records.c.record_key))
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        records = pd.DataFrame([json.loads(r.payload) for r in rows], columns=ent.columns)
        out = cast_frame(ent, records)
        out[HELD_REASON] = pd.Series([r.reason for r in rows], dtype="string[pyarrow]")
        out[MISSING_REFERENCE] = pd.Series([r.missing_reference for r in rows], dtype="string[pyarrow]")
        out[HELD_ATTEMPTS] = pd.Series([r.attempts for r in rows], dtype="int64[pyarrow]")
        return out

    def release(self, entity_name: str, key_frame: pd.DataFrame) -> int:
        """Forget the held records whose keys are in `key_frame` (they landed). Returns how many were released."""
        ent = as_entity(entity_name)
        released = 0
        with write_transaction(self._engine) as connection:
            for part in in_lists(column_values(record_key(ent, key_frame)), _IN_CHUNK):
                result = connection.execute(delete(held_records).where(
                    held_records.c.entity == ent.name, held_records.c.record_key.in_(part)))
                released += result.rowcount
        return released

    def count(self, entity_name: str) -> int:
        with self._engine.connect() as connection:
            return count(connection, held_records, held_records.c.entity == as_entity(entity_name).name)

    def counts(self) -> dict[str, int]:
        """Held records per entity (only entities that hold any)."""
        statement = select(held_records.c.entity, func.count()).group_by(held_records.c.entity)
        with self._engine.connect() as connection:
            return {entity: int(n) for entity, n in connection.execute(statement)}
