"""The hub: canonical records of every entity, upserted by stable key, never deleted.

A row is written only when its content hash changed, so re-loading the same
export writes nothing and `_loaded_at` tells when a record last really changed.
`_in_source` says whether the record was in the latest full export (see
`mark_presence`); absent records stay in the hub, deletions are a target's
decision, guarded elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, Select, and_, exists, false, func, literal, not_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.model import Entity
from b2b_assets.model.frames import cast_frame, empty_frame
from b2b_assets.store.engine import write_transaction
from b2b_assets.store.hashing import row_hashes
from b2b_assets.store.keys import as_entity, text_key_columns
from b2b_assets.store.sql import (
    batches, count, load_stage, lock_for_writing, staging_table, upsert_insert, utcnow,
)
from b2b_assets.store.tables import HUB_TABLES, IN_SOURCE, LOADED_AT, ROW_HASH

STAGE_BATCH = 50_000  # rows per COPY / executemany into the staging table


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _only(ent: Entity, columns: list[str]) -> Entity:
    """The entity restricted to some of its columns, to cast just those with the model's rules."""
    return Entity(ent.name, ent.description, key=tuple(c for c in ent.key if c in columns),
                  fields=tuple(ent.field(c) for c in columns))


def _stored(ent: Entity, column: ColumnElement) -> ColumnElement:
    """A staged (canonical) column as the hub stores it: missing optional text key parts as ''
    (a primary key cannot hold NULL); `cast_frame` turns them back into NA on reading."""
    return func.coalesce(column, "").label(column.name) if column.name in text_key_columns(ent) else column


class HubTables:
    """Typed `hub_<entity>` tables, one per canonical entity."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def table(entity_name: str):  # noqa: ANN205 - sqlalchemy Table
        return HUB_TABLES[as_entity(entity_name).name]

    # -- writing -----------------------------------------------------------------------------------

    def upsert(self, entity_name: str, frame: pd.DataFrame, *, batch_size: int = STAGE_BATCH) -> UpsertCounts:
        """Insert new records, update changed ones, leave unchanged ones unwritten.

        Rows are compared by `_row_hash`; when the frame holds a key twice, the
        last row wins. All batches are written in one transaction.
        """
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        key = list(ent.key)
        canonical = cast_frame(ent, frame)
        canonical = canonical[~canonical.duplicated(subset=key, keep="last")]
        if canonical.empty:
            return UpsertCounts(0, 0, 0)
        stored = canonical.assign(**{ROW_HASH: row_hashes(ent, canonical, canonical=True)})

        with write_transaction(self._engine) as connection:
            lock_for_writing(connection, table)
            before = count(connection, table)
            now = utcnow()
            with staging_table(connection, [table.c[c] for c in (*ent.columns, ROW_HASH)]) as stage:
                for batch in batches(stored, batch_size):
                    load_stage(connection, stage, batch)
                insert = upsert_insert(connection, table)
                source = select(
                    *[_stored(ent, stage.c[c]) for c in ent.columns], stage.c[ROW_HASH],
                    literal(now, table.c[LOADED_AT].type), true(),
                ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
                changing = [c for c in ent.columns if c not in key] + [ROW_HASH, LOADED_AT, IN_SOURCE]
                statement = insert.from_select([*ent.columns, ROW_HASH, LOADED_AT, IN_SOURCE], source)
                statement = statement.on_conflict_do_update(
                    index_elements=[table.c[c] for c in key],
                    set_={c: statement.excluded[c] for c in changing},
                    where=table.c[ROW_HASH].is_distinct_from(statement.excluded[ROW_HASH]),
                )
                written = connection.execute(statement).rowcount
            inserted = count(connection, table) - before
        return UpsertCounts(inserted=inserted, updated=written - inserted, unchanged=len(canonical) - written)

    def mark_presence(self, entity_name: str, present_keys: pd.DataFrame) -> int:
        """Set `_in_source` true for the keys in `present_keys` and false for every other row.

        `present_keys` needs the key columns (others are ignored): the keys of the
        latest full export. Returns how many hub rows are now absent from the source.
        """
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        key = list(ent.key)
        keys = cast_frame(_only(ent, key), present_keys[key])
        for column in text_key_columns(ent):  # as stored, so the stage's primary key index serves the lookups
            keys[column] = keys[column].fillna("")
        keys = keys[~keys.duplicated(keep="first")]
        with write_transaction(self._engine) as connection:
            lock_for_writing(connection, table)
            with staging_table(connection, [table.c[c] for c in key], primary_key=ent.key) as stage:
                for batch in batches(keys, STAGE_BATCH):
                    load_stage(connection, stage, batch)
                present = exists().where(and_(*[stage.c[c] == table.c[c] for c in key]))
                connection.execute(
                    update(table).where(table.c[IN_SOURCE] == false(), present).values({IN_SOURCE: True}))
                connection.execute(
                    update(table).where(table.c[IN_SOURCE] == true(), not_(present)).values({IN_SOURCE: False}))
            return count(connection, table, table.c[IN_SOURCE] == false())

    # -- reading -----------------------------------------------------------------------------------

    def read(self, entity_name: str, batch_size: int = 100_000, *, with_meta: bool = False,
             in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        """The entity's records in key order, in frames of at most `batch_size` rows, canonical dtypes.

        with_meta adds `_row_hash`, `_in_source` and `_loaded_at`; in_source filters on presence.
        """
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        columns = ent.columns + (list((ROW_HASH, IN_SOURCE, LOADED_AT)) if with_meta else [])
        statement = select(*[table.c[c] for c in columns]).order_by(*[table.c[c] for c in ent.key])
        if in_source is not None:
            statement = statement.where(table.c[IN_SOURCE] == in_source)
        for frame in self._stream(statement, columns, batch_size):
            yield self._canonical(ent, frame, with_meta)

    def read_all(self, entity_name: str, *, with_meta: bool = False, in_source: bool | None = None) -> pd.DataFrame:
        ent = as_entity(entity_name)
        frames = list(self.read(ent.name, with_meta=with_meta, in_source=in_source))
        if not frames:
            columns = ent.columns + (list((ROW_HASH, IN_SOURCE, LOADED_AT)) if with_meta else [])
            return self._canonical(ent, pd.DataFrame(columns=columns), with_meta)
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def count(self, entity_name: str, *, in_source: bool | None = None) -> int:
        table = HUB_TABLES[as_entity(entity_name).name]
        where = [] if in_source is None else [table.c[IN_SOURCE] == in_source]
        with self._engine.connect() as connection:
            return count(connection, table, *where)

    def keys(self, entity_name: str, *, in_source: bool | None = None) -> pd.DataFrame:
        """The key columns of every record (canonical dtypes, missing optional parts as NA), in key order."""
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        key = list(ent.key)
        statement = select(*[table.c[c] for c in key]).order_by(*[table.c[c] for c in key])
        if in_source is not None:
            statement = statement.where(table.c[IN_SOURCE] == in_source)
        frames = [cast_frame(_only(ent, key), f) for f in self._stream(statement, key, 500_000)]
        if not frames:
            return empty_frame(_only(ent, key))
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def absent_keys(self, entity_name: str) -> pd.DataFrame:
        """Keys of records that were not in the latest full export."""
        return self.keys(entity_name, in_source=False)

    # -- helpers -----------------------------------------------------------------------------------

    def _stream(self, statement: Select, columns: list[str], batch_size: int) -> Iterator[pd.DataFrame]:
        with self._engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(statement)
            for rows in result.partitions(batch_size):
                values = list(zip(*rows))  # transpose in C; from_records on Row objects is slow
                yield pd.DataFrame({name: pd.Series(column, dtype=object) for name, column in zip(columns, values)})

    @staticmethod
    def _canonical(ent: Entity, frame: pd.DataFrame, with_meta: bool) -> pd.DataFrame:
        out = cast_frame(ent, frame)
        if with_meta:
            out[ROW_HASH] = frame[ROW_HASH].astype("int64[pyarrow]")
            out[IN_SOURCE] = frame[IN_SOURCE].astype("bool[pyarrow]")
            out[LOADED_AT] = pd.to_datetime(frame[LOADED_AT], utc=True)
        return out


__all__ = ["HubTables", "UpsertCounts"]
