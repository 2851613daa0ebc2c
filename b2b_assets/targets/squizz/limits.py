"""SQUIZZ's own field limits, checked over whole payload frames.

The canonical model enforces the widest limit any target accepts, so a value
valid in the hub can still be too long for SQUIZZ (a 60-character site name
against locationName's 50). Such records are rejected for SQUIZZ only, with a
reason a person can act on; other targets still get them.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.decimals import DECIMAL_DTYPE, DECIMAL_TYPE, decimal_places, decimal_text
from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.targets.core.contract import PARENT_KEY, RECORD_KEY, Payload
from b2b_assets.targets.squizz.import_types import EsdType, FieldSpec, ImportType, import_type

PROBLEM_COLUMNS = ("record_key", "field", "value", "reason")
VALUE_PREVIEW = 80  # a 65,535-character description does not belong in a report row


def check_target_limits(spec: ImportType | str, payload: Payload) -> pd.DataFrame:
    """One row per (record, field) that SQUIZZ would refuse: record_key, field, value, reason."""
    spec = import_type(spec) if isinstance(spec, str) else spec
    found = [_check_frame(payload.records, RECORD_KEY, spec.field_limits, "")]
    if payload.children is not None and spec.child_field:
        found.append(_check_frame(payload.children, PARENT_KEY, spec.child_field_limits, f"{spec.child_field}[]."))
    for group in spec.one_of:
        present = [payload.records[f] for f in group if f in payload.records.columns]
        if len(present) == len(group):
            none_set = pd.concat(present, axis=1).isna().all(axis=1)
            found.append(_rows(payload.records.loc[none_set, RECORD_KEY], "|".join(group), None,
                               f"SQUIZZ needs one of {', '.join(group)}; all are empty"))
    problems = pd.concat([f for f in found if not f.empty], ignore_index=True) if any(
        not f.empty for f in found) else _empty()
    return problems.astype(TEXT_DTYPE).reset_index(drop=True)


def rejection_reasons(problems: pd.DataFrame) -> pd.Series:
    """The problems as one reason string per record_key (the outbound core's `invalid_reasons`)."""
    if problems.empty:
        return pd.Series([], dtype=TEXT_DTYPE)
    return problems.groupby("record_key", sort=False)["reason"].agg("; ".join).astype(TEXT_DTYPE)


def _check_frame(frame: pd.DataFrame, owner: str, limits: dict[str, FieldSpec], prefix: str) -> pd.DataFrame:
    found = []
    for name, spec in limits.items():
        if name not in frame.columns:
            continue
        column, label = frame[name], f"{prefix}{name}"
        if spec.mandatory:
            empty = column.isna()
            found.append(_rows(frame.loc[empty, owner], label, None, f"{label} is mandatory in SQUIZZ and is empty"))
        if spec.type in (EsdType.STRING, EsdType.ENUM) and spec.max_length is not None:
            lengths = column.astype(TEXT_DTYPE).str.len()
            too_long = (lengths > spec.max_length).fillna(False).astype(bool)
            if too_long.any():
                reason = (label + " is " + lengths[too_long].astype(int).astype(str)
                          + f" characters; SQUIZZ accepts at most {spec.max_length}")
                found.append(_rows(frame.loc[too_long, owner], label, column[too_long], reason))
        if spec.choices and spec.type in (EsdType.STRING, EsdType.ENUM):
            wrong = (column.notna() & ~column.isin(spec.choices)).fillna(False).astype(bool)
            found.append(_rows(frame.loc[wrong, owner], label, column[wrong],
                               f"{label} must be one of {', '.join(spec.choices)}"))
        if spec.positive:
            not_positive = (column <= 0).fillna(False).astype(bool)
            found.append(_rows(frame.loc[not_positive, owner], label, column[not_positive],
                               f"{label} must be greater than 0 in SQUIZZ"))
        if spec.type is EsdType.DECIMAL and spec.precision is not None:
            found.extend(_decimal_problems(frame, owner, column, label, spec.precision))
    found = [f for f in found if not f.empty]
    return pd.concat(found, ignore_index=True) if found else _empty()


def _decimal_problems(frame: pd.DataFrame, owner: str, column: pd.Series, label: str,
                      precision: tuple[int, int]) -> list[pd.DataFrame]:
    """SQUIZZ's DECIMAL(digits, scale), applied by refusing, never by rounding: a value with more
    decimal places than `scale` is not sent (rounding 0.00001 would send 0, 12.3456789 would
    arrive as 12.3457), and neither is one too large for `digits`."""
    digits, scale = precision
    too_fine = _finer_than(column, scale)
    too_big = (column.abs() >= Decimal(10) ** (digits - scale)).fillna(False).astype(bool) & ~too_fine
    found = []
    if too_fine.any():
        places = decimal_places(column[too_fine])
        reason = (label + " has " + places.astype(int).astype(str)
                  + f" decimal places; SQUIZZ's DECIMAL {digits}.{scale} takes at most {scale} and this sync "
                    "does not round (fix the value in the source)")
        found.append(_rows(frame.loc[too_fine, owner], label, column[too_fine], reason))
    found.append(_rows(frame.loc[too_big, owner], label, column[too_big],
                       f"{label} does not fit SQUIZZ's DECIMAL {digits}.{scale} "
                       f"(at most {digits - scale} digits before the point)"))
    return found


def _finer_than(column: pd.Series, scale: int) -> pd.Series:
    """Where an exact decimal has a digit beyond `scale` places: it differs from itself cut there.

    One Arrow round over the unscaled integers, a tenth of writing every value as text to count its places.
    """
    values = pc.cast(pa.array(column.array) if len(column) else pa.array([], type=DECIMAL_TYPE), DECIMAL_TYPE)
    cut = pc.round(values, scale, round_mode="towards_zero")
    return pd.Series(pc.fill_null(pc.not_equal(values, cut), False).to_numpy(zero_copy_only=False),
                     index=column.index)


def _rows(owners: pd.Series, field: str, values: pd.Series | None, reason: str | pd.Series) -> pd.DataFrame:
    if owners.empty:
        return _empty()
    preview = (pd.Series(pd.NA, index=owners.index, dtype=TEXT_DTYPE) if values is None
               else _text(values).str.slice(0, VALUE_PREVIEW))
    reasons = reason.to_numpy() if isinstance(reason, pd.Series) else reason
    return pd.DataFrame({"record_key": owners.to_numpy(), "field": field, "value": preview.to_numpy(),
                         "reason": reasons})


def _text(values: pd.Series) -> pd.Series:
    return decimal_text(values) if values.dtype == DECIMAL_DTYPE else values.astype(TEXT_DTYPE)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=TEXT_DTYPE) for c in PROBLEM_COLUMNS})
