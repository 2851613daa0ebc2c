"""Small SQL helpers shared by the store's modules: dialect inserts, batches, rows.

Bulk loads (staging tables) are store/adbc.py's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.model.decimals import DECIMAL_DTYPE, canonical_text

BATCH_SIZE = 10_000
IN_CHUNK = 5_000  # values per IN (...): well within SQLite's and PostgreSQL's bound-parameter limits


def utcnow() -> datetime:
    return datetime.now(UTC)


def upsert_insert(connection: Connection | Engine, table: Table):  # noqa: ANN201 - dialect-specific Insert
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


def in_lists(values: pd.Series | Sequence[Any], size: int = IN_CHUNK) -> list[list[Any]]:
    """The distinct non-null `values`, in first-seen order, as lists of at most `size`: one per `IN (...)`."""
    distinct = pd.Series(values).dropna().drop_duplicates().tolist()
    return [distinct[at:at + size] for at in range(0, len(distinct), size)]


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
