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
import pyarrow as pa
from sqlalchemy import (
    Engine, Numeric, Table, and_, cast, exists, false, func, literal, not_, or_, select, true, update,
)
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.model import Entity, Kind
from b2b_assets.model.decimals import PRECISION, SCALE
from b2b_assets.model.frames import cast_frame
from b2b_assets.store import adbc, versions
from b2b_assets.store.engine import is_postgres
from b2b_assets.store.hashing import row_hashes
from b2b_assets.store.hub_digest import HubDigest
from b2b_assets.store.keys import as_entity, text_key_columns
from b2b_assets.store.sql import IN_CHUNK, count, in_lists, upsert_insert, utcnow
from b2b_assets.store.tables import BOOKKEEPING, HUB_TABLES, IN_SOURCE, LOADED_AT, ROW_HASH, VERSION, version_index_name


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


def _typed(engine: Engine, ent: Entity, staged: ColumnElement) -> ColumnElement:
    """A staged column in the hub column's type: exact decimals are staged as their fixed-scale text,
    which is what SQLite stores and what PostgreSQL casts to NUMERIC."""
    if is_postgres(engine) and ent.field(staged.name).kind is Kind.DECIMAL:
        return cast(staged, Numeric(PRECISION, SCALE))
    return staged


def _stored(engine: Engine, ent: Entity, staged: ColumnElement) -> ColumnElement:
    """A staged (canonical) column as the hub stores it: missing optional text key parts as ''
    (a primary key cannot hold NULL); `cast_frame` turns them back into NA on reading."""
    if staged.name in text_key_columns(ent):
        return func.coalesce(staged, "")
    return _typed(engine, ent, staged)


def _in_hub(engine: Engine, ent: Entity, stage: Table) -> ColumnElement[bool]:
    """The staged row's key is in the hub: one primary-key probe per staged row."""
    table = HUB_TABLES[ent.name]
    return exists().where(and_(*[table.c[c] == _stored(engine, ent, stage.c[c]) for c in ent.key]))


class HubTables:
    """Typed `hub_<entity>` tables, one per canonical entity."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def table(entity_name: str):  # noqa: ANN205 - sqlalchemy Table
        return HUB_TABLES[as_entity(entity_name).name]

    # -- writing -----------------------------------------------------------------------------------

    def digest(self, entity_name: str) -> HubDigest:
        """Each record's key hash and `_row_hash`, for `upsert` to skip unchanged rows: read once per load."""
        ent = as_entity(entity_name)
        return HubDigest.read(self._engine, _only(ent, list(ent.key)))

    def upsert(self, entity_name: str, frame: pd.DataFrame, digest: HubDigest | None = None) -> UpsertCounts:
        """Insert new records, update changed ones, leave unchanged ones unwritten.

        Rows are compared by `_row_hash`; when the frame holds a key twice, the
        last row wins. The frame is bulk-loaded (ADBC ingest) into a staging table
        and merged by one INSERT ... ON CONFLICT statement, in one transaction.
        With the entity's `digest` (the same one for every batch of a load), rows the
        hub holds unchanged are counted and left out before staging: only new and
        changed rows are staged and merged (see store/hub_digest.py).
        """
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        key = list(ent.key)
        canonical = cast_frame(ent, frame)
        canonical = canonical[~canonical.duplicated(subset=key, keep="last")]
        if canonical.empty:
            return UpsertCounts(0, 0, 0)
        hashes = row_hashes(ent, canonical, canonical=True).to_numpy()
        matched = digest.match(canonical, hashes) if digest is not None else None
        skipped = 0 if matched is None else int(matched.unchanged.sum())
        if skipped:
            canonical, hashes = canonical[~matched.unchanged], hashes[~matched.unchanged]
        if canonical.empty:
            return UpsertCounts(0, 0, skipped)
        stored = canonical.assign(**{ROW_HASH: hashes})
        # Columns empty throughout the batch are not staged: inserting leaves them NULL, and an update sets
        # them from `excluded`, which holds NULL for a column the INSERT does not name (none has a default).
        filled = [c for c in ent.columns if c in key or canonical[c].notna().any()]

        with adbc.staged_write(self._engine, adbc.arrow_for_ingest(stored[[*filled, ROW_HASH]])) as write:
            write.lock(table)
            stamp = versions.current(write.connection, ent.name) + 1  # the version this write makes, if it writes
            # Counted by probing the hub with the staged keys, not by counting the hub before and after:
            # that would read the whole table twice per batch.
            if matched is not None and not matched.any_known:
                inserted = len(canonical)  # the digest has none of their keys: the hub has none either
            else:
                inserted = len(canonical) - write.count(write.stage, _in_hub(self._engine, ent, write.stage))
            insert = upsert_insert(self._engine, table)
            source = select(
                *[_stored(self._engine, ent, write.stage.c[c]).label(c) for c in filled], write.stage.c[ROW_HASH],
                literal(utcnow(), table.c[LOADED_AT].type), true(), literal(stamp, table.c[VERSION].type),
            ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
            changing = [c for c in ent.columns if c not in key] + [ROW_HASH, LOADED_AT, IN_SOURCE, VERSION]
            statement = insert.from_select([*filled, ROW_HASH, LOADED_AT, IN_SOURCE, VERSION], source)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c[c] for c in key],
                set_={c: statement.excluded[c] for c in changing},
                where=table.c[ROW_HASH].is_distinct_from(statement.excluded[ROW_HASH]),
            )
            written = write.execute(statement)
            if written:
                versions.bump(write.connection, ent.name)
        if matched is not None:
            digest.landed(matched)
        return UpsertCounts(inserted=inserted, updated=written - inserted,
                            unchanged=skipped + len(canonical) - written)

    def mark_presence(self, entity_name: str, present_keys: pd.DataFrame) -> int:
        """Set `_in_source` true for the keys in `present_keys` and false for every other row.

        `present_keys` needs the key columns (others are ignored): the keys of the
        latest full export. Returns how many hub rows are now absent from the source.
        """
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        key = list(ent.key)
        keys = cast_frame(_only(ent, key), present_keys[key])
        for column in text_key_columns(ent):  # as stored, so the stage's unique index serves the lookups
            keys[column] = keys[column].fillna("")
        keys = keys[~keys.duplicated(keep="first")]
        with adbc.staged_write(self._engine, adbc.arrow_for_ingest(keys), unique_index=key) as write:
            write.lock(table)
            stamp = versions.current(write.connection, ent.name) + 1
            present = exists().where(and_(*[_typed(self._engine, ent, write.stage.c[c]) == table.c[c] for c in key]))
            flipped = write.execute(update(table).where(table.c[IN_SOURCE] == false(), present)
                                    .values({IN_SOURCE: True, VERSION: stamp}))
            flipped += write.execute(update(table).where(table.c[IN_SOURCE] == true(), not_(present))
                                     .values({IN_SOURCE: False, VERSION: stamp}))
            if flipped:
                versions.bump(write.connection, ent.name)
            return write.count(table, table.c[IN_SOURCE] == false())

    # -- reading -----------------------------------------------------------------------------------

    def iter_batches(self, entity_name: str, *, batch_rows: int = 100_000, with_meta: bool = False,
                     in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        """The entity's records in key order, as canonical frames of at most `batch_rows` rows.

        Key order is the same on SQLite and PostgreSQL: text key parts byte-wise (as Arrow and
        Python compare strings; a missing optional part, stored as '', first), a decimal key part
        by its fixed-scale text.
        Read as Arrow (store/adbc.py) and streamed: memory holds one batch at a time.
        with_meta adds `_row_hash`, `_in_source` and `_loaded_at`; in_source filters on presence.
        """
        ent = as_entity(entity_name)
        statement, key, schema = self._query(ent, _columns(ent, with_meta), in_source)
        for data in adbc.read_in_key_order(self._engine, statement, key, schema, batch_rows):
            yield self._canonical(ent, adbc.to_frame(data), with_meta)

    def read(self, entity_name: str, batch_size: int = 100_000, *, with_meta: bool = False,
             in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        """`iter_batches` with the batch size as its second argument."""
        return self.iter_batches(entity_name, batch_rows=batch_size, with_meta=with_meta, in_source=in_source)

    def read_all(self, entity_name: str, *, with_meta: bool = False, in_source: bool | None = None) -> pd.DataFrame:
        ent = as_entity(entity_name)
        data = adbc.read_table(self._engine, *self._query(ent, _columns(ent, with_meta), in_source))
        return self._canonical(ent, adbc.to_frame(data), with_meta)

    def read_key_range(self, entity_name: str, column: str, *, above: object = None, upto: object = None,
                       in_source: bool | None = None) -> pd.DataFrame:
        """The records whose `column` lies after `above` and up to `upto` (None: unbounded), compared as
        `iter_batches` orders keys, in key order: a child entity's rows (a product's sell units, by
        product_id) for one key range of its parent's `iter_batches`."""
        ent = as_entity(entity_name)
        statement, key, schema = self._query(ent, _columns(ent, False), in_source)
        statement = statement.where(*adbc.in_key_range(self._engine, HUB_TABLES[ent.name].c[column],
                                                       above=above, upto=upto))
        return self._canonical(ent, adbc.to_frame(adbc.read_table(self._engine, statement, key, schema)), False)

    def iter_versions(self, entity_name: str, *, batch_rows: int = 100_000,
                      in_source: bool | None = None) -> Iterator[pd.DataFrame]:
        """The key columns and `_version` of the entity's records, in key order, `batch_rows` at a time:
        what tells which rows changed since a version without reading the rows."""
        ent = as_entity(entity_name)
        statement, key, schema = self._query(ent, [*ent.key, VERSION], in_source)
        for data in adbc.read_in_key_order(self._engine, statement, key, schema, batch_rows):
            frame = adbc.to_frame(data)
            yield cast_frame(_only(ent, list(ent.key)), frame).assign(**{VERSION: frame[VERSION]})

    def changed_since(self, entity_name: str, version: int, columns: list[str]) -> pd.DataFrame:
        """`columns` of the records written since `version` (or before rows had one), present or not."""
        ent = as_entity(entity_name)
        table = HUB_TABLES[ent.name]
        statement, key, schema = self._query(ent, columns, None)
        statement = statement.where(or_(table.c[VERSION] > version, table.c[VERSION].is_(None)))
        # Without statistics SQLite would rather scan the table in key order than sort the few rows its index finds.
        statement = statement.with_hint(table, f"INDEXED BY {version_index_name(ent.name)}", "sqlite")
        return cast_frame(_only(ent, columns), adbc.to_frame(adbc.read_table(self._engine, statement, key, schema)))

    def read_matching(self, entity_name: str, column: str, values: pd.Series, *, in_source: bool | None = None,
                      chunk: int = IN_CHUNK) -> pd.DataFrame:
        """The records whose `column` is one of `values` (canonical frames, by key within each chunk of values)."""
        ent = as_entity(entity_name)
        statement, key, schema = self._query(ent, _columns(ent, False), in_source)
        parts = [adbc.read_table(self._engine, statement.where(HUB_TABLES[ent.name].c[column].in_(part)), key, schema)
                 for part in in_lists(values, chunk)]
        data = pa.concat_tables(parts) if parts else schema.empty_table()
        return self._canonical(ent, adbc.to_frame(data), False)

    def empty(self, entity_name: str) -> pd.DataFrame:
        """The entity's canonical columns and dtypes, without rows."""
        ent = as_entity(entity_name)
        return self._canonical(ent, adbc.to_frame(self._query(ent, _columns(ent, False), None)[2].empty_table()),
                               False)

    def count(self, entity_name: str, *, in_source: bool | None = None) -> int:
        table = HUB_TABLES[as_entity(entity_name).name]
        where = [] if in_source is None else [table.c[IN_SOURCE] == in_source]
        with self._engine.connect() as connection:
            return count(connection, table, *where)

    def keys(self, entity_name: str, *, in_source: bool | None = None) -> pd.DataFrame:
        """The key columns of every record (canonical dtypes, missing optional parts as NA), in key order."""
        ent = as_entity(entity_name)
        key = list(ent.key)
        data = adbc.read_table(self._engine, *self._query(ent, key, in_source))
        return cast_frame(_only(ent, key), adbc.to_frame(data))

    def absent_keys(self, entity_name: str) -> pd.DataFrame:
        """Keys of records that were not in the latest full export."""
        return self.keys(entity_name, in_source=False)

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _query(ent: Entity, columns: list[str], in_source: bool | None):  # noqa: ANN205
        """(statement, its unique key, its Arrow schema) selecting `columns` of the entity's hub table."""
        table = HUB_TABLES[ent.name]
        selected = [table.c[c] for c in columns]
        statement = select(*selected)
        if in_source is not None:
            statement = statement.where(table.c[IN_SOURCE] == in_source)
        return statement, [table.c[c] for c in ent.key], adbc.schema_of(selected)

    @staticmethod
    def _canonical(ent: Entity, frame: pd.DataFrame, with_meta: bool) -> pd.DataFrame:
        out = cast_frame(ent, frame)
        if with_meta:
            for name in BOOKKEEPING:
                out[name] = frame[name]
        return out


def _columns(ent: Entity, with_meta: bool) -> list[str]:
    return ent.columns + (list(BOOKKEEPING) if with_meta else [])


__all__ = ["HubTables", "UpsertCounts"]
