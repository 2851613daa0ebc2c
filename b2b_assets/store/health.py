"""Sync health: what the ledger and the held records say, aggregated in SQL for the `ops/sync_health` view.

Every count is a GROUP BY in the database (one row per target and entity), so
the view costs the same for a thousand records as for five million; only the
sample of problem records comes back row by row, and it is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import DateTime, Engine, Integer, Select, case, func, literal, select, type_coerce

from b2b_assets.store.sql import utcnow
from b2b_assets.store.tables import held_records, sync_ledger
from b2b_assets.targets.core.contract import LedgerState

SENT, SUBMITTED = LedgerState.SENT.value, LedgerState.SUBMITTED.value
REJECTED, HELD, DELETED = LedgerState.REJECTED.value, LedgerState.HELD.value, LedgerState.DELETED.value
PROBLEM_STATES = (REJECTED, HELD)
LEDGER_COUNTS = ("acknowledged", "rejected", "held", "submitted", "deleted")
HEALTH_COLUMNS = ("target", "entity", *LEDGER_COUNTS, "attempts", "oldest_held_at")
PROBLEM_COLUMNS = ("target", "entity", "record_key", "state", "reason", "attempts", "first_seen_at")
HUB = "hub"  # the `target` of held_records rows: held before the hub, not at a target
_STAMP = DateTime(timezone=True)


def _in_state(state: str):
    return func.sum(case((sync_ledger.c.state == state, 1), else_=0))


def _first_seen():
    # Rows from before the ledger had first_seen_at: their first confirmation is the best we know.
    return func.coalesce(sync_ledger.c.first_seen_at, sync_ledger.c.first_sent_at)


def ledger_health(engine: Engine) -> pd.DataFrame:
    """Per target and entity: records acknowledged (sent), rejected, held, submitted (in open jobs) and
    deleted; the most attempts of any rejected or held record; when the oldest held record was first seen."""
    c = sync_ledger.c
    problem = c.state.in_(PROBLEM_STATES)
    statement = (
        select(c.target, c.entity, *[_in_state(s).label(n) for s, n in zip(
                   (SENT, REJECTED, HELD, SUBMITTED, DELETED), LEDGER_COUNTS)],
               func.coalesce(func.max(case((problem, c.attempts))), 0).label("attempts"),
               type_coerce(func.min(case((c.state == HELD, _first_seen()))), _STAMP).label("oldest_held_at"))
        .group_by(c.target, c.entity).order_by(c.target, c.entity))
    return _frame(engine, statement, HEALTH_COLUMNS)


def held_health(engine: Engine) -> pd.DataFrame:
    """The hub's own held records (orphans of the export) per entity, in the shape of `ledger_health`."""
    h = held_records.c
    zero = literal(0, Integer)
    statement = (
        select(literal(HUB).label("target"), h.entity, zero.label("acknowledged"), zero.label("rejected"),
               func.count().label("held"), zero.label("submitted"), zero.label("deleted"),
               func.max(h.attempts).label("attempts"), type_coerce(func.min(h.first_held_at), _STAMP))
        .group_by(h.entity).order_by(h.entity))
    return _frame(engine, statement, HEALTH_COLUMNS)


def ledger_problems(engine: Engine, limit: int | None, target: str | None = None,
                    entity: str | None = None) -> pd.DataFrame:
    """Rejected and held ledger records (rejected first), with the target's full message, attempts and when the
    ledger first saw them; narrowed to one target and entity when given."""
    c = sync_ledger.c
    statement = select(c.target, c.entity, c.record_key, c.state, c.last_error, c.attempts,
                       type_coerce(_first_seen(), _STAMP)).where(c.state.in_(PROBLEM_STATES))
    if target is not None:
        statement = statement.where(c.target == target)
    if entity is not None:
        statement = statement.where(c.entity == entity)
    statement = statement.order_by(case((c.state == REJECTED, 0), else_=1), c.target, c.entity,
                                   c.record_key).limit(limit)
    return _frame(engine, statement, PROBLEM_COLUMNS)


def first_problems(engine: Engine) -> pd.DataFrame:
    """Per target and entity, its first problem record (rejected before held, then by key): what an
    at-a-glance row shows beside its counts. A window function, so one pass over the problem rows."""
    c = sync_ledger.c
    order = case((c.state == REJECTED, 0), else_=1)
    ranked = (select(c.target, c.entity, c.record_key, c.state, c.last_error,
                     func.row_number().over(partition_by=(c.target, c.entity), order_by=(order, c.record_key))
                     .label("rank"))
              .where(c.state.in_(PROBLEM_STATES)).subquery())
    statement = (select(ranked.c.target, ranked.c.entity, ranked.c.record_key, ranked.c.state, ranked.c.last_error)
                 .where(ranked.c.rank == 1).order_by(ranked.c.target, ranked.c.entity))
    return _frame(engine, statement, ("target", "entity", "record_key", "state", "reason"))


def held_problems(engine: Engine, limit: int | None, entity: str | None = None) -> pd.DataFrame:
    """The hub's held records in the shape of `ledger_problems`, the reason naming the missing parent."""
    h = held_records.c
    statement = select(literal(HUB), h.entity, h.record_key, literal(HELD), h.reason, h.attempts,
                       type_coerce(h.first_held_at, _STAMP))
    if entity is not None:
        statement = statement.where(h.entity == entity)
    statement = statement.order_by(h.entity, h.record_key).limit(limit)
    return _frame(engine, statement, PROBLEM_COLUMNS)


def age_hours(since: pd.Series, now: datetime | None = None) -> pd.Series:
    """Hours from each timestamp to now (NA where there is none), rounded to a tenth."""
    elapsed = pd.Timestamp(now or utcnow()) - pd.to_datetime(since, utc=True)
    return (elapsed.dt.total_seconds() / 3600).round(1)


def _frame(engine: Engine, statement: Select, columns: Sequence[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for name in frame.columns:
        if name.endswith("_at"):
            # SQLite hands back naive UTC (its CURRENT_TIMESTAMP, SQLAlchemy's text); PostgreSQL aware datetimes.
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
        elif name in (*LEDGER_COUNTS, "attempts"):
            frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    return frame
