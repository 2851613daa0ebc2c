"""Small SQL helpers shared by the store's modules: dialect inserts, batches, staging tables, rows."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv
from sqlalchemy import Column, Connection, MetaData, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.model.decimals import DECIMAL_DTYPE, canonical_text

BATCH_SIZE = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def upsert_insert(connection: Connection, table: Table):  # noqa: ANN201 - dialect-specific Insert
    """The dialect's INSERT that supports ON CONFLICT (SQLite and PostgreSQL)."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports sqlite and postgresql, not {name}")


def lock_for_writing(connection: Connection, table: Table) -> None:
    """Serialise writers of `table` for the rest of the transaction; readers are not blocked.

    SQLite already holds the database write lock (BEGIN IMMEDIATE); PostgreSQL takes a
    self-conflicting table lock so row counts taken inside the transaction are consistent.
    """
    if connection.dialect.name == "postgresql":
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.exec_driver_sql(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")


def count(connection: Connection, table: Table, *where: ColumnElement[bool]) -> int:
    return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def batches(frame: pd.DataFrame, size: int = BATCH_SIZE) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


def column_values(column: pd.Series) -> list[Any]:
    """A column as Python values with None for missing (what DB-API drivers take).

    Exact decimals become their fixed-scale text (tables.ExactDecimal), formatted by Arrow.
    """
    if column.dtype == DECIMAL_DTYPE:
        return canonical_text(column).to_pylist()
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=object, na_value=None)
        floats = column.to_numpy(dtype="float64", na_value=np.nan)
        values[np.isnan(floats)] = None
        return values.tolist()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu":
        return column.to_numpy().tolist()
    return column.to_numpy(dtype=object, na_value=None).tolist()


def to_records(frame: pd.DataFrame, **constants: Any) -> list[dict[str, Any]]:
    """Rows of `frame` as dicts for an executemany, plus the same `constants` in every row."""
    names = list(frame.columns)
    columns = [column_values(frame[name]) for name in names]
    if constants:
        names += list(constants)
        columns += [[value] * len(frame) for value in constants.values()]
    return [dict(zip(names, row)) for row in zip(*columns)]


def load_stage(connection: Connection, stage: Table, frame: pd.DataFrame) -> None:
    """Bulk-load `frame` (columns named like the stage's, canonical values, NA as missing) into `stage`.

    PostgreSQL: COPY ... FROM STDIN of pyarrow-written CSV (strings quoted, nulls unquoted
    empty, doubles in shortest round-trip form, decimals as plain text). SQLite: the driver's executemany with
    plain tuples, without SQLAlchemy's per-row parameter processing.
    """
    if frame.empty:
        return
    names = [c.name for c in stage.columns]
    preparer = connection.dialect.identifier_preparer
    table_name = preparer.format_table(stage)
    column_list = ", ".join(preparer.quote(n) for n in names)
    if connection.dialect.name == "postgresql":
        buffer = io.BytesIO()
        table = pa.Table.from_pandas(frame[names], preserve_index=False)
        for position, name in enumerate(names):  # Arrow's CSV writes small decimals as 1.000E-7: write plain text
            if frame[name].dtype == DECIMAL_DTYPE:
                table = table.set_column(position, name, canonical_text(frame[name]))
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))  # nulls: unquoted empty
        buffer.seek(0)
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table_name} ({column_list}) FROM STDIN WITH (FORMAT csv)", buffer)
        return
    rows = list(zip(*[column_values(frame[n]) for n in names]))
    placeholders = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})", rows)


@contextmanager
def staging_table(connection: Connection, columns: list[Column], primary_key: tuple[str, ...] = ()) -> Iterator[Table]:
    """A temporary table with copies of `columns` (nullable unless in `primary_key`), dropped when the block ends.

    Give a primary key when the table is probed by key (joins, EXISTS), so lookups use its index.
    """
    table = Table(f"_stage_{uuid.uuid4().hex[:12]}", MetaData(),
                  *[Column(c.name, c.type, primary_key=c.name in primary_key, autoincrement=False) for c in columns],
                  prefixes=["TEMPORARY"])
    table.create(connection)
    yield table
    # Dropped only when the block succeeded: after a failure the transaction (or the connection, if the
    # server went away) is unusable, a DROP would raise over the real error, and a temporary table goes
    # with its session anyway.
    table.drop(connection)
