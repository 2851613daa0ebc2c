"""Read-only questions about the store, for `b2b-sync status` and `b2b-sync why KEY`.

Every count here is a GROUP BY in the database (SQLAlchemy Core), so the answer
costs the same at ten records or ten million: no row of the ledger or the hub is
pulled into Python to be counted. Lookups of one record select by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import Engine, String, and_, case, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.model import ENTITIES, Entity, Kind
from b2b_assets.model.decimals import canonical_text, parse_decimals
from b2b_assets.store.sql import in_lists
from b2b_assets.store.tables import HUB_TABLES, IN_SOURCE, LOADED_AT, held_records, quarantine, sync_ledger
from b2b_assets.targets.core.contract import KEY_SEPARATOR, LedgerState

FAILED_STATES = (LedgerState.REJECTED.value, LedgerState.HELD.value)
SUGGESTIONS = 5


def ledger_summary(engine: Engine) -> pd.DataFrame:
    """One row per (target, entity, state): records, attempts (sum and most), last attempt, open jobs."""
    c = sync_ledger.c
    statement = (select(c.target, c.entity, c.state, func.count().label("records"),
                        func.sum(c.attempts).label("attempts"), func.max(c.attempts).label("most_attempts"),
                        func.max(c.last_attempt_at).label("last_attempt_at"),
                        func.count(c.job_id.distinct()).label("jobs"))
                 .group_by(c.target, c.entity, c.state).order_by(c.target, c.entity, c.state))
    return _frame(engine, statement)


def hub_summary(engine: Engine, entities: Sequence[Entity] = ENTITIES) -> pd.DataFrame:
    """One row per entity: records in the hub, how many the latest full export no longer had, last load."""
    parts = []
    for ent in entities:
        table = HUB_TABLES[ent.name]
        parts.append(select(literal(ent.name).label("entity"), func.count().label("records"),
                            func.coalesce(func.sum(_as_int(~table.c[IN_SOURCE])), 0).label("not_in_source"),
                            func.max(table.c[LOADED_AT]).label("last_loaded_at")))
    return _frame(engine, union_all(*parts))


def held_summary(engine: Engine) -> pd.DataFrame:
    """Records the hub holds back (a parent missing), per entity, with the oldest one's first hold."""
    c = held_records.c
    statement = (select(c.entity, func.count().label("held"), func.min(c.first_held_at).label("oldest_held_at"))
                 .group_by(c.entity))
    return _frame(engine, statement)


def latest_quarantine(engine: Engine) -> tuple[str | None, pd.DataFrame]:
    """The run that quarantined rows most recently, and its issues per entity (rows with an issue, issues)."""
    c = quarantine.c
    with engine.connect() as connection:
        run_id = connection.execute(select(c.run_id).order_by(c.id.desc()).limit(1)).scalar()
    if run_id is None:
        return None, pd.DataFrame(columns=["entity", "rows", "issues"])
    issues = select(c.entity, c.source, c.row_number, func.count().label("issues")).where(c.run_id == run_id) \
        .group_by(c.entity, c.source, c.row_number).subquery()
    statement = (select(issues.c.entity, func.count(issues.c.row_number).label("rows"),
                        func.sum(issues.c.issues).label("issues"))
                 .group_by(issues.c.entity).order_by(issues.c.entity))
    return run_id, _frame(engine, statement)


def failed_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """(target, entity) -> records the ledger holds as rejected or held: what a retry would resend."""
    c = sync_ledger.c
    statement = (select(c.target, c.entity, func.count()).where(c.state.in_(FAILED_STATES))
                 .group_by(c.target, c.entity))
    with engine.connect() as connection:
        return {(target, entity): int(n) for target, entity, n in connection.execute(statement)}


def failed_records(engine: Engine) -> pd.DataFrame:
    """target, entity, record_key, state of every rejected or held record (what a retry resends), in key order."""
    c = sync_ledger.c
    statement = (select(c.target, c.entity, c.record_key, c.state).where(c.state.in_(FAILED_STATES))
                 .order_by(c.target, c.entity, c.record_key))
    return _frame(engine, statement)


# -- one record ------------------------------------------------------------------------------------------------

def ledger_rows(engine: Engine, keys: Iterable[str]) -> pd.DataFrame:
    """Every ledger row of these record keys, whichever target and object: the full row, error untruncated."""
    parts = [_frame(engine, select(sync_ledger).where(sync_ledger.c.record_key.in_(part)))
             for part in in_lists(list(keys)) or [[]]]  # one empty read at least: the frame's columns
    return pd.concat(parts, ignore_index=True).sort_values(["target", "entity", "record_key"], ignore_index=True)


def held_rows(engine: Engine, keys: Iterable[str]) -> pd.DataFrame:
    """The hub's held records with these keys: why, since when, how often tried."""
    c = held_records.c
    statement = (select(c.entity, c.record_key, c.missing_reference, c.reason, c.first_held_at, c.last_tried_at,
                        c.attempts).where(c.record_key.in_(list(keys))).order_by(c.entity))
    return _frame(engine, statement)


def hub_record(engine: Engine, ent: Entity, parts: Sequence[str]) -> dict | None:
    """The hub row of `ent` whose key columns equal `parts` (as a record key spells them), with bookkeeping."""
    where = _key_equals(ent, parts)
    if where is None:
        return None
    table = HUB_TABLES[ent.name]
    with engine.connect() as connection:
        row = connection.execute(select(table).where(where).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def similar_keys(engine: Engine, text: str, limit: int = SUGGESTIONS) -> list[str]:
    """Keys that start with `text` ignoring case, from the ledger, the held records and every hub table's
    first key column: cheap "did you mean" candidates (a prefix LIKE each database answers from its index)."""
    pattern = _like_prefix(text.lower())
    selects = [select(sync_ledger.c.record_key.label("key")).where(func.lower(sync_ledger.c.record_key).like(
                   pattern, escape="\\")),
               select(held_records.c.record_key.label("key")).where(func.lower(held_records.c.record_key).like(
                   pattern, escape="\\"))]
    for ent in ENTITIES:
        first = HUB_TABLES[ent.name].c[ent.key[0]]
        if isinstance(first.type, String):  # a numeric key column has no case and no prefix to speak of
            selects.append(select(first.label("key")).where(func.lower(first).like(pattern, escape="\\")))
    found = select(union_all(*selects).subquery().c.key).distinct().subquery()
    composite = case((found.c.key.contains(KEY_SEPARATOR, autoescape=True), 1), else_=0)
    statement = select(found.c.key).order_by(composite, found.c.key).limit(limit)  # whole records' keys first
    with engine.connect() as connection:
        return [key.replace(KEY_SEPARATOR, " / ") for key in connection.execute(statement).scalars()]


def _key_equals(ent: Entity, parts: Sequence[str]) -> ColumnElement[bool] | None:
    """key column == part for each key column, with decimal parts in the hub's spelling; None if they cannot match."""
    if len(parts) != len(ent.key):
        return None
    table = HUB_TABLES[ent.name]
    conditions = []
    for name, part in zip(ent.key, parts):
        kind = ent.field(name).kind
        if kind is Kind.DECIMAL:
            value = parse_decimals(pd.Series([part], dtype="string[pyarrow]"))
            if value.isna().any():
                return None
            part = canonical_text(value)[0].as_py()
        elif kind is Kind.INTEGER:
            if not part.lstrip("-").isdigit():
                return None
            part = int(part)
        conditions.append(table.c[name] == part)
    return and_(*conditions)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _frame(engine: Engine, statement) -> pd.DataFrame:  # noqa: ANN001 - any selectable
    with engine.connect() as connection:
        result = connection.execute(statement)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


__all__ = ["FAILED_STATES", "failed_counts", "failed_records", "held_rows", "held_summary", "hub_record", "hub_summary",
           "latest_quarantine", "ledger_rows", "ledger_summary", "similar_keys"]

