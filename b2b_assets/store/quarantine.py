"""Quarantine: invalid input rows, with the field and the reason, kept per run for the user to see."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, Select, func, select

from b2b_assets.store.csv_reports import write_csv_report
from b2b_assets.store.engine import write_transaction
from b2b_assets.store.keys import as_entity
from b2b_assets.store.sql import BATCH_SIZE, batches, to_records, utcnow
from b2b_assets.store.tables import quarantine

VALUE_LIMIT = 200
ELLIPSIS = "…"
ISSUE_COLUMNS = ("source", "row_number", "field", "value", "reason")
REPORT_COLUMNS = ("entity", *ISSUE_COLUMNS)
_TEXT = "string[pyarrow]"


def truncate_values(values: pd.Series, limit: int = VALUE_LIMIT) -> pd.Series:
    """Values as text of at most `limit` characters; longer ones end with an ellipsis."""
    text = _without_nul(values)
    too_long = text.str.len() > limit
    return text.mask(too_long, text.str.slice(0, limit - len(ELLIPSIS)) + ELLIPSIS)


def _without_nul(values: pd.Series) -> pd.Series:
    """Text with NUL spelled out as \\x00: PostgreSQL text cannot hold it, and a quarantined row may."""
    return values.astype(_TEXT).str.replace("\x00", "\\x00", regex=False)


def _issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Issues with exactly the issue columns, in their dtypes; missing columns become NA."""
    out = issues.reindex(columns=list(ISSUE_COLUMNS)).reset_index(drop=True)
    for column in ("source", "field", "reason"):
        out[column] = _without_nul(out[column])
    out["row_number"] = pd.to_numeric(out["row_number"]).astype("int64[pyarrow]")
    out["value"] = truncate_values(out["value"])
    return out


class Quarantine:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, run_id: str, entity_name: str, issues: pd.DataFrame) -> int:
        """Record `issues` (columns source, row_number, field, value, reason) for a run. Returns how many."""
        entity_name = as_entity(entity_name).name
        frame = _issues(issues)
        if frame.empty:
            return 0
        frame["reason"] = frame["reason"].fillna("invalid")
        now = utcnow()
        with write_transaction(self._engine) as connection:
            for batch in batches(frame, BATCH_SIZE):
                connection.execute(quarantine.insert(),
                                   to_records(batch, run_id=run_id, entity=entity_name, created_at=now))
        return len(frame)

    def for_run(self, run_id: str, entity_name: str | None = None) -> pd.DataFrame:
        """A run's issues (all entities, or one), in the order they were added."""
        statement = self._select().where(quarantine.c.run_id == run_id)
        if entity_name is not None:
            statement = statement.where(quarantine.c.entity == as_entity(entity_name).name)
        return self._frame(statement)

    def latest(self, entity_name: str) -> pd.DataFrame:
        """The issues of the most recent run that quarantined anything for this entity.

        A later run with no issues records nothing here, so prefer `for_run` with
        the current run's id when showing a run's own result.
        """
        name = as_entity(entity_name).name
        last_id = select(func.max(quarantine.c.id)).where(quarantine.c.entity == name).scalar_subquery()
        last_run = select(quarantine.c.run_id).where(quarantine.c.id == last_id).scalar_subquery()
        return self._frame(self._select().where(quarantine.c.entity == name, quarantine.c.run_id == last_run))

    def count(self, run_id: str, entity_name: str | None = None) -> int:
        return len(self.for_run(run_id, entity_name))

    @staticmethod
    def write_report(issues: pd.DataFrame, path: str | Path, entity_name: str | None = None) -> Path:
        """See the module-level `write_report`."""
        return write_report(issues, path, entity_name)

    @staticmethod
    def _select() -> Select:
        return select(quarantine.c.run_id, quarantine.c.entity, *[quarantine.c[c] for c in ISSUE_COLUMNS],
                      quarantine.c.created_at).order_by(quarantine.c.id)

    def _frame(self, statement: Select) -> pd.DataFrame:
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        raw = pd.DataFrame.from_records(rows, columns=["run_id", "entity", *ISSUE_COLUMNS, "created_at"])
        out = pd.DataFrame({"run_id": raw["run_id"].astype(_TEXT), "entity": raw["entity"].astype(_TEXT)})
        out = pd.concat([out, _issues(raw)], axis=1)
        out["created_at"] = pd.to_datetime(raw["created_at"], utc=True)
        return out


def write_report(issues: pd.DataFrame, path: str | Path, entity_name: str | None = None) -> Path:
    """Write issues as a CSV report (entity, source, row_number, field, value, reason); returns the path.

    `entity_name` fills the entity column when `issues` has none (raw validation output).
    """
    report = _issues(issues)
    entity = issues["entity"].astype(_TEXT).reset_index(drop=True) if "entity" in issues.columns \
        else pd.Series(entity_name, index=report.index, dtype=_TEXT)
    report.insert(0, "entity", entity)
    return write_csv_report(report, path, list(REPORT_COLUMNS))
