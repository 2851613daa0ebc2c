"""Source cursors: where an incremental source (e.g. a vendor API's updated_at) left off."""

from __future__ import annotations

from sqlalchemy import Engine, select

from b2b_assets.store.engine import write_transaction
from b2b_assets.store.sql import upsert_insert, utcnow
from b2b_assets.store.tables import source_cursors


class SourceCursors:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, source: str, entity: str) -> str | None:
        c = source_cursors.c
        with self._engine.connect() as connection:
            return connection.execute(
                select(c.cursor).where(c.source == source, c.entity == entity)).scalar_one_or_none()

    def set(self, source: str, entity: str, cursor: str) -> None:
        with write_transaction(self._engine) as connection:
            insert = upsert_insert(connection, source_cursors)
            connection.execute(insert.on_conflict_do_update(
                index_elements=[source_cursors.c.source, source_cursors.c.entity],
                set_={"cursor": insert.excluded.cursor, "updated_at": insert.excluded.updated_at},
            ), {"source": source, "entity": entity, "cursor": str(cursor), "updated_at": utcnow()})
