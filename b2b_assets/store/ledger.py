"""The sync ledger: what each target has acknowledged, per record.

(target, entity, record_key) → payload hash, state, last error, attempts, and
the job id while a record is `submitted` in an asynchronous job. The outbound
planners diff payload hashes against it; a record is `sent` only after the
target confirmed it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, case, delete, func, literal, null, select, true
from sqlalchemy.sql.elements import ColumnElement

from b2b_assets.store import adbc
from b2b_assets.store.engine import write_transaction
from b2b_assets.store.hashing import hash_series
from b2b_assets.store.ledger_versions import LedgerVersions, bump
from b2b_assets.store.sql import IN_CHUNK, in_lists, upsert_insert, utcnow
from b2b_assets.store.tables import UNSETTLED, sync_ledger
from b2b_assets.targets.core.contract import LEDGER_STATES, LedgerState

SENT, SUBMITTED = LedgerState.SENT.value, LedgerState.SUBMITTED.value
OUTCOME_COLUMNS = ("record_key", "payload_hash", "state", "last_error", "job_id")
LOAD_COLUMNS = ("record_key", "payload_hash", "state", "attempts")
_TEXT = "string[pyarrow]"


def _outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    missing = {"record_key", "state"} - set(outcomes.columns)
    if missing:
        raise ValueError(f"ledger outcomes need columns {sorted(missing)}")
    out = outcomes.reindex(columns=list(OUTCOME_COLUMNS)).reset_index(drop=True)
    out["record_key"] = out["record_key"].astype(_TEXT)
    out["state"] = out["state"].astype(_TEXT)
    out["last_error"] = out["last_error"].astype(_TEXT)
    out["job_id"] = out["job_id"].astype(_TEXT)
    out["payload_hash"] = hash_series(out["payload_hash"])
    unknown = sorted(set(out["state"].dropna().unique()) - set(LEDGER_STATES))  # unique: not a str per row
    if unknown or out["state"].isna().any() or out["record_key"].isna().any():
        raise ValueError(f"ledger outcomes need a record_key and a state in {LEDGER_STATES}; got {unknown or 'NA'}")
    return out[~out["record_key"].duplicated(keep="last")]


class SyncLedger:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.versions = LedgerVersions(engine)  # moved by `record` and `purge`, in their own transactions

    def record(self, target: str, entity_name: str, outcomes: pd.DataFrame) -> int:
        """Record per-record outcomes (record_key, payload_hash, state, last_error[, job_id]) of one sync.

        attempts += 1 and last_attempt_at = now for every record; first_sent_at is
        kept from the first time a record was sent; confirmed_at is set when the
        state is `sent`. The object's ledger counters move in the same transaction
        (store/ledger_versions.py). Returns how many records were recorded.
        """
        frame = _outcomes(outcomes)
        if frame.empty:
            return 0
        now = utcnow()
        stamp = sync_ledger.c.last_attempt_at.type
        with adbc.staged_write(self._engine, adbc.arrow_for_ingest(frame)) as write:
            stage = write.stage
            # Before the write: whether it takes a confirmed record out of `sent` (a held record held again does not).
            leaves_sent = bool((frame["state"] != SENT).any()) and self._leaves_sent(write, target, entity_name)
            sent_now = case((stage.c.state == SENT, literal(now, stamp)), else_=null())
            source = select(
                literal(target, sync_ledger.c.target.type), literal(entity_name, sync_ledger.c.entity.type),
                *[stage.c[c] for c in OUTCOME_COLUMNS], literal(1, sync_ledger.c.attempts.type),
                sent_now, literal(now, stamp), sent_now,
            ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
            insert = upsert_insert(self._engine, sync_ledger).from_select(
                ["target", "entity", *OUTCOME_COLUMNS, "attempts", "first_sent_at", "last_attempt_at",
                 "confirmed_at"], source)
            excluded = insert.excluded
            write.execute(insert.on_conflict_do_update(
                index_elements=[sync_ledger.c.target, sync_ledger.c.entity, sync_ledger.c.record_key],
                set_={
                    "payload_hash": excluded.payload_hash,
                    "state": excluded.state,
                    "last_error": excluded.last_error,
                    "job_id": excluded.job_id,
                    "attempts": sync_ledger.c.attempts + 1,
                    "last_attempt_at": excluded.last_attempt_at,
                    "first_sent_at": func.coalesce(sync_ledger.c.first_sent_at, excluded.first_sent_at),
                    "confirmed_at": case((excluded.state == SENT, excluded.confirmed_at),
                                         else_=sync_ledger.c.confirmed_at),
                },
            ))
            bump(write.connection, target, entity_name, may_leave_sent=leaves_sent)
        return len(frame)

    @staticmethod
    def _leaves_sent(write: adbc.StagedWrite, target: str, entity_name: str) -> bool:
        """Whether a staged record in another state than `sent` is `sent` in the ledger now (key lookups)."""
        stage, c = write.stage, sync_ledger.c
        confirmed = select(literal(1)).select_from(stage.join(sync_ledger, c.record_key == stage.c.record_key)).where(
            c.target == target, c.entity == entity_name, c.state == SENT, stage.c.state != SENT)
        return write.connection.execute(select(confirmed.exists())).scalar_one()

    def purge(self, target: str, entity_name: str) -> int:
        """Forget every record of one target object, so that its next sync sends everything as new.
        Returns how many records were forgotten."""
        c = sync_ledger.c
        with write_transaction(self._engine) as connection:
            gone = connection.execute(delete(sync_ledger).where(c.target == target, c.entity == entity_name)).rowcount
            bump(connection, target, entity_name, may_leave_sent=True)
        return gone

    def load(self, target: str, entity_name: str) -> pd.DataFrame:
        """record_key, payload_hash, state, attempts of every record this target has seen, in key order."""
        return adbc.to_frame(self._read(target, entity_name, LOAD_COLUMNS))

    def iter_batches(self, target: str, entity_name: str, *, batch_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """`load`, streamed: frames of at most `batch_rows` rows (same columns and dtypes) in record_key
        order, byte-wise on SQLite and PostgreSQL alike (as Arrow and Python compare strings)."""
        statement, key, schema = self._query(target, entity_name, LOAD_COLUMNS)
        for data in adbc.read_in_key_order(self._engine, statement, key, schema, batch_rows):
            yield adbc.to_frame(data)

    def open_jobs(self, target: str, entity_name: str) -> pd.DataFrame:
        """record_key, payload_hash, job_id of the records waiting in a job the target has not finished,
        by job then record_key."""
        columns = ("record_key", "payload_hash", "job_id")
        data = self._read(target, entity_name, columns, sync_ledger.c.state == SUBMITTED)
        frame = adbc.to_frame(data.sort_by([("job_id", "ascending"), ("record_key", "ascending")]))
        return frame.assign(payload_hash=frame["payload_hash"].astype("int64"))

    def counts(self, target: str, entity_name: str) -> dict[str, int]:
        """Records per state (every state present, 0 when none)."""
        c = sync_ledger.c
        statement = (select(c.state, func.count()).where(c.target == target, c.entity == entity_name)
                     .group_by(c.state))
        with self._engine.connect() as connection:
            found = {state: int(n) for state, n in connection.execute(statement)}
        return {state: found.get(state, 0) for state in LEDGER_STATES} | found

    def unsettled(self, target: str, entity_name: str) -> pd.DataFrame:
        """`load`'s columns of the records the target does not hold as `sent` with a hash (held, rejected,
        submitted, deleted): read through their own index, not the whole ledger."""
        return adbc.to_frame(self._read(target, entity_name, LOAD_COLUMNS, UNSETTLED))

    def matching(self, target: str, entity_name: str, keys: pd.Series, *, chunk: int = IN_CHUNK) -> pd.DataFrame:
        """`load`'s columns of the records among `keys` the ledger holds (looked up by key, `chunk` at a time)."""
        c = sync_ledger.c
        parts = [self._read(target, entity_name, LOAD_COLUMNS, c.record_key.in_(part))
                 for part in in_lists(pd.Series(keys).dropna().astype(str), chunk)]
        data = pa.concat_tables(parts) if parts else self._query(target, entity_name, LOAD_COLUMNS)[2].empty_table()
        return adbc.to_frame(data)

    def size(self, target: str, entity_name: str) -> int:
        """How many records the ledger holds for the object, in any state (a count over its key index)."""
        c = sync_ledger.c
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(sync_ledger).where(
                c.target == target, c.entity == entity_name)).scalar_one()

    def keys_in_state(self, target: str, entity_name: str, state: str) -> pd.Series:
        """record_keys of this target's records in `state`, in key order."""
        if state not in LEDGER_STATES:
            raise ValueError(f"unknown ledger state {state!r}; one of {LEDGER_STATES}")
        keys = self._read(target, entity_name, ("record_key",), sync_ledger.c.state == state)
        return adbc.to_frame(keys)["record_key"]

    @staticmethod
    def _query(target: str, entity_name: str, columns: tuple[str, ...], *where: ColumnElement[bool]):  # noqa: ANN205
        """(statement, its unique key, its Arrow schema) selecting `columns` of one target's entity."""
        c = sync_ledger.c
        selected = [c[name] for name in columns]
        statement = select(*selected).where(c.target == target, c.entity == entity_name, *where)
        return statement, [c.record_key], adbc.schema_of(selected)

    def _read(self, target: str, entity_name: str, columns: tuple[str, ...], *where: ColumnElement[bool]) -> pa.Table:
        return adbc.read_table(self._engine, *self._query(target, entity_name, columns, *where))
