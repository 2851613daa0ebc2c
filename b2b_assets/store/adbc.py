"""Arrow in and out of the store: columnar reads in key order through ADBC, staged bulk writes.

SQLAlchemy hands rows back as Python tuples, and turning a million of them into a frame costs
more than the query; executemany costs a Python tuple per row. ADBC's C drivers read into
Arrow and ingest Arrow. Statements are still SQLAlchemy Core compiled for the engine's
dialect, driver errors are raised as SQLAlchemy `DBAPIError`s like every other store error,
and every write is one transaction on the store's own SQLAlchemy connection, as before:
the staging table is bulk-loaded, then merged by one statement.

PostgreSQL: reads through an ADBC connection derived from the engine's URL (binary COPY,
streamed); writes stage by COPY of Arrow-written CSV into a temporary table.

SQLite: the ADBC driver carries its own copy of the SQLite library, and two copies must never
have the same database file open in one process: closing a file in one copy drops the other's
POSIX locks, and it takes itself for the last connection and checkpoints the WAL away under
the other's feet (https://www.sqlite.org/howtocorrupt.html, 2.2.1). So ADBC never opens the
hub file. Data crosses through a scratch database file that one copy writes and closes before
the other opens it: a read copies the result into it in one statement (C, no Python rows; one
snapshot) and ADBC reads it back as Arrow; a write ingests into it with ADBC and the store's
connection ATTACHes it for the upsert, inside its usual `BEGIN IMMEDIATE` transaction.

Reads come in key order, the same on both databases: text byte-wise (PostgreSQL: COLLATE "C"),
which is how SQLite, Arrow and Python compare strings.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import adbc_driver_manager.dbapi as adbc_dbapi
import adbc_driver_postgresql.dbapi as adbc_postgresql
import adbc_driver_sqlite.dbapi as adbc_sqlite
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv
from sqlalchemy import (
    BigInteger, Boolean, Column, Connection, DateTime, Engine, Index, Integer, MetaData, Select, String, Table, Text,
    cast,
)
from sqlalchemy.dialects.postgresql import psycopg2
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import Executable

from b2b_assets.model.decimals import DECIMAL_DTYPE, canonical_text
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.store.engine import is_postgres, write_transaction
from b2b_assets.store.sql import count, lock_for_writing
from b2b_assets.store.tables import ExactDecimal

_SQLITE_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
_SCRATCH = "scratch"  # the schema name a scratch file is attached under
_SCRATCH_PRAGMAS = ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF")  # a throwaway file


# -- statements and errors -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _postgres_dialect() -> Dialect:
    """PostgreSQL compiled with $1, $2 placeholders, which libpq (and so ADBC) takes."""
    return psycopg2.dialect(paramstyle="numeric_dollar")


def _compiled(statement: Executable, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL text and positional parameters, each converted by its type as SQLAlchemy would."""
    # render_postcompile: an IN over a list of values becomes one positional parameter per value.
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    positions = getattr(compiled, "positiontup", None)  # DDL has no parameters
    if not positions:
        return str(compiled), []
    values = compiled.construct_params()
    parameters = []
    for name in positions:
        bind = compiled.binds[name if name in compiled.binds else name.rsplit("_", 1)[0]]  # an IN: `<name>_<i>`
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        parameters.append(processor(values[name]) if processor else values[name])
    return str(compiled), parameters


@contextmanager
def _sqlalchemy_errors(sql: str | None = None) -> Iterator[None]:
    try:
        yield
    except adbc_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, adbc_dbapi.Error) from exc


def _run(cursor: adbc_dbapi.Cursor, statement: Executable, dialect: Dialect) -> int:
    """Run a statement that returns no rows on an ADBC cursor; returns the rows it changed."""
    sql, parameters = _compiled(statement, dialect)
    with _sqlalchemy_errors(sql):
        cursor.executemany(sql, [parameters] if parameters else None)
    return cursor.rowcount


# -- conversions -----------------------------------------------------------------------------------

def arrow_type(column: ColumnElement) -> pa.DataType:
    """The Arrow type a store column is read as: exact decimals as their text (parsed by `cast_frame`)."""
    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def schema_of(columns: Sequence[ColumnElement]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])


def _conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """`data` with the names and types of `schema`: SQLite's driver infers int64 for an all-NULL column,
    reads booleans as 0/1 and timestamps as the text SQLAlchemy wrote (UTC, without an offset).

    Copied into Arrow's own memory pool: a column imported from a driver's batch keeps that whole
    batch alive, so a planner keeping only the record keys of each range it read would otherwise keep
    every range (found at 400k products: 16 MB more per 50k-product range, with nothing to show for it).
    """
    arrays = []
    for position, field in enumerate(schema):
        array = data.column(position)
        if array.type != field.type:
            if pa.types.is_timestamp(field.type) and pa.types.is_string(array.type):
                array = array.cast(pa.timestamp(field.type.unit))
            array = array.cast(field.type)
        arrays.append(array)
    table = pa.Table.from_arrays(arrays, schema=schema)
    pool = pa.default_cpu_memory_manager()
    return pa.Table.from_batches([batch.copy_to(pool) for batch in table.to_batches()], schema=schema)


def to_frame(data: pa.Table) -> pd.DataFrame:
    """Arrow-backed pandas: text as the model's string dtype, timestamps as datetime64[us, UTC]."""
    def mapped(kind: pa.DataType):  # noqa: ANN202 - a pandas dtype, or None for pandas' default
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return TEXT_DTYPE
        return None if pa.types.is_timestamp(kind) else pd.ArrowDtype(kind)
    return data.to_pandas(types_mapper=mapped)


def arrow_for_ingest(frame: pd.DataFrame) -> pa.Table:
    """A frame of canonical values as Arrow to ingest: exact decimals as their fixed-scale text
    (how SQLite stores them; PostgreSQL casts the text to NUMERIC), text as plain strings."""
    data = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for position, name in enumerate(frame.columns):
        if frame[name].dtype == DECIMAL_DTYPE:
            data = data.set_column(position, name, canonical_text(frame[name]))
        elif pa.types.is_large_string(data.schema.field(position).type):
            data = data.set_column(position, name, data.column(position).cast(pa.string()))
    return data


# -- connections -----------------------------------------------------------------------------------

@contextmanager
def _postgres(engine: Engine) -> Iterator[adbc_dbapi.Cursor]:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with _sqlalchemy_errors(), adbc_postgresql.connect(url, autocommit=True) as connection, \
            connection.cursor() as cursor:
        yield cursor


@contextmanager
def _scratch_file() -> Iterator[Path]:
    descriptor, name = tempfile.mkstemp(prefix="b2b-scratch-", suffix=".sqlite")
    os.close(descriptor)  # an empty file is an empty database
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


@contextmanager
def _scratch_adbc(path: Path) -> Iterator[adbc_dbapi.Cursor]:
    """ADBC on a scratch file, closed (and so released by this copy of SQLite) when the block ends."""
    with _sqlalchemy_errors(), adbc_sqlite.connect(str(path), autocommit=True) as connection, \
            connection.cursor() as cursor:
        for pragma in _SCRATCH_PRAGMAS:
            cursor.execute(pragma)
        yield cursor


@contextmanager
def _attached(connection: Connection, path: Path) -> Iterator[None]:
    """The scratch file attached to a store connection, outside any transaction (SQLite refuses
    ATTACH and DETACH inside one), and detached, so closed, when the block ends."""
    driver = connection.connection.driver_connection
    driver.execute(f"ATTACH DATABASE ? AS {_SCRATCH}", (str(path),))
    try:
        for pragma in _SCRATCH_PRAGMAS:
            driver.execute(pragma.replace("PRAGMA ", f"PRAGMA {_SCRATCH}."))
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        driver.execute(f"DETACH DATABASE {_SCRATCH}")


# -- reading in key order --------------------------------------------------------------------------

def _byte_order(engine: Engine, column: ColumnElement) -> ColumnElement:
    """The key column as SQLite orders it, on PostgreSQL too: text byte-wise, an exact decimal by
    the fixed-scale text SQLite stores ("10.0000000000" before "2.0000000000")."""
    if not is_postgres(engine):
        return column
    if isinstance(column.type, ExactDecimal):
        return cast(column, Text()).collate("C")
    return column.collate("C") if isinstance(column.type, String) else column


def read_in_key_order(engine: Engine, statement: Select, key: Sequence[ColumnElement], schema: pa.Schema,
                      batch_rows: int) -> Iterator[pa.Table]:
    """The rows of `statement` ordered by `key`, as Arrow tables of at most `batch_rows` rows typed as
    `schema` (one field per selected column, in order). Yields nothing for an empty result."""
    ordered = statement.order_by(*[_byte_order(engine, c) for c in key])
    if is_postgres(engine):
        yield from _postgres_batches(engine, ordered, schema, batch_rows)
    else:
        yield from _sqlite_batches(engine, ordered, schema, batch_rows)


def in_key_range(engine: Engine, column: ColumnElement, *, above: Any = None, upto: Any = None
                 ) -> list[ColumnElement[bool]]:
    """WHERE terms for `column` after `above` and up to `upto` (None: unbounded on that side), compared
    as `read_in_key_order` orders it, so consecutive ranges of one key-ordered read partition the column."""
    ordered = _byte_order(engine, column)
    return ([ordered > above] if above is not None else []) + ([ordered <= upto] if upto is not None else [])


def read_table(engine: Engine, statement: Select, key: Sequence[ColumnElement], schema: pa.Schema,
               batch_rows: int = 500_000) -> pa.Table:
    """All rows of `statement` in `key` order as one Arrow table typed as `schema`."""
    parts = list(read_in_key_order(engine, statement, key, schema, batch_rows))
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _postgres_batches(engine: Engine, statement: Select, schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    sql, parameters = _compiled(statement, _postgres_dialect())
    with _postgres(engine) as cursor, _sqlalchemy_errors(sql):
        cursor.execute(sql, parameters or None)
        reader = cursor.fetch_record_batch()
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            while rows >= batch_rows:
                whole = pa.Table.from_batches(pending, schema=reader.schema)
                yield _conform(whole.slice(0, batch_rows), schema)
                rest = whole.slice(batch_rows)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield _conform(pa.Table.from_batches(pending, schema=reader.schema), schema)


def _sqlite_batches(engine: Engine, statement: Select, schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    """Copy the result into a scratch file in one statement (one snapshot), then read it with ADBC in
    pages by rowid (the copy's order), each page a query of its own: the driver infers a column's
    type from the first batch of a query, and a column NULL throughout one page is not throughout all."""
    sql, parameters = _compiled(statement, engine.dialect)
    with _scratch_file() as path:
        with engine.connect() as connection, _attached(connection, path):
            connection.exec_driver_sql(f"CREATE TABLE {_SCRATCH}.result AS {sql}", tuple(parameters))
            connection.commit()
        with _scratch_adbc(path) as cursor:
            cursor.adbc_statement.set_options(**{_SQLITE_BATCH_ROWS: str(batch_rows)})
            after = 0
            while True:
                cursor.execute("SELECT * FROM result WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, batch_rows))
                page = cursor.fetch_arrow_table()
                if page.num_rows:
                    yield _conform(page, schema)
                if page.num_rows < batch_rows:
                    return
                after += batch_rows


# -- staged writes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class StagedWrite:
    """One write transaction (the store's own SQLAlchemy connection) with its staging table loaded."""

    connection: Connection
    stage: Table

    def execute(self, statement: Executable) -> int:
        """Run a statement that returns no rows; returns the rows it changed."""
        return self.connection.execute(statement).rowcount

    def count(self, table: Table, *where: ColumnElement[bool]) -> int:
        return count(self.connection, table, *where)

    def lock(self, table: Table) -> None:
        lock_for_writing(self.connection, table)


@contextmanager
def staged_write(engine: Engine, data: pa.Table, *, unique_index: Sequence[str] = ()) -> Iterator[StagedWrite]:
    """A write transaction (`engine.write_transaction`) with `data` bulk-loaded into a staging table
    first, for statements that merge it; committed when the block succeeds, rolled back otherwise.

    The staging columns take the Arrow types (text, 64-bit integers, booleans; exact decimals as
    their text): cast where the target column differs. Give `unique_index` (columns unique in `data`)
    when statements probe the stage by them (EXISTS, joins); it is built after the load.
    PostgreSQL: a temporary table filled by COPY of Arrow-written CSV, as fast as ADBC's ingest here
    and inside the store's transaction. SQLite: a scratch file ADBC ingests into, attached.
    """
    if is_postgres(engine):
        with write_transaction(engine) as connection:
            stage = _stage_table(f"_stage_{uuid.uuid4().hex[:12]}", data.schema, prefixes=["TEMPORARY"])
            stage.create(connection)
            _copy(connection, stage, data)
            _index(stage, unique_index, lambda ddl: connection.execute(ddl))
            yield StagedWrite(connection, stage)
        return
    with _scratch_file() as path:
        with _scratch_adbc(path) as cursor:
            cursor.adbc_ingest("stage", data, mode="create")
            _index(_stage_table("stage", data.schema), unique_index, lambda ddl: _run(cursor, ddl, engine.dialect))
        with engine.connect().execution_options(b2b_write=True) as connection, _attached(connection, path):
            with connection.begin():
                yield StagedWrite(connection, _stage_table("stage", data.schema, schema=_SCRATCH))


def _stage_table(name: str, columns: pa.Schema, **options: Any) -> Table:
    return Table(name, MetaData(), *[Column(field.name, _STAGE_TYPES.get(field.type, Text)) for field in columns],
                 **options)


_STAGE_TYPES = {pa.int64(): BigInteger, pa.bool_(): Boolean}


def _copy(connection: Connection, stage: Table, data: pa.Table) -> None:
    """COPY `data` into `stage`: Arrow writes the CSV (strings quoted, nulls as unquoted empty fields)."""
    buffer = io.BytesIO()
    pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(c.name) for c in stage.columns)
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {preparer.format_table(stage)} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)


def _index(stage: Table, columns: Sequence[str], run: Callable[[CreateIndex], Any]) -> None:
    if columns:
        run(CreateIndex(Index(f"{stage.name}_key", *[stage.c[c] for c in columns], unique=True)))
