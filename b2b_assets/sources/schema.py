"""Pandera schemas built from the model: one for raw (string) input, one for canonical typed frames.

Both come from the same per-field rules, so "what a valid value is" lives in
the model's Field and nowhere else. Each check's `error` is a reason template
(`{value!r}`, `{length}`) that `failure_issues` fills with the offending value,
which is how a failure reads "length 61 exceeds maximum 50" rather than a
check name.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from b2b_assets.model import Entity, Field, Kind, entity as entity_named
from b2b_assets.model.decimals import (
    INTEGER_DIGITS, PRECISION, SCALE, loses_decimal_places, rounds_to_zero, too_many_integer_digits,
)
from b2b_assets.model.frames import dtype_of
from b2b_assets.sources.issues import empty_issues, issue_frame
from b2b_assets.sources.normalize import (
    DECIMAL_PATTERN, INTEGER_PATTERN, country_codes, currency_codes, parse_number, parse_timestamps,
)

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s.]+"  # one @, something on each side, a dotted domain
REQUIRED_REASON = "required value is empty"
BOOLEAN_REASON = "{value!r} is not a boolean (use true/false, yes/no, y/n, 1/0)"


def input_schema(entity: Entity | str) -> pa.DataFrameSchema:
    """Validates normalised *string* values (what `prepare` sees before casting)."""
    return _input_schema(_entity(entity).name)


def schema_for(entity: Entity | str) -> pa.DataFrameSchema:
    """Validates a canonical, typed frame (cast_frame dtypes), e.g. to re-check `erp/<entity>` output."""
    return _typed_schema(_entity(entity).name)


@lru_cache(maxsize=None)
def _input_schema(name: str) -> pa.DataFrameSchema:
    entity = entity_named(name)
    columns = {f.name: pa.Column(None, nullable=not f.required, required=True, checks=_string_checks(f))
               for f in entity.fields}
    return pa.DataFrameSchema(columns, name=f"{name} (input)", strict=False)


@lru_cache(maxsize=None)
def _typed_schema(name: str) -> pa.DataFrameSchema:
    entity = entity_named(name)
    columns = {f.name: pa.Column(dtype_of(f), nullable=not f.required, required=True, checks=_typed_checks(f))
               for f in entity.fields}
    return pa.DataFrameSchema(columns, name=name, strict=False)


def _string_checks(f: Field) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if f.kind is Kind.BOOLEAN:
        checks.append(_isin(("true", "false"), BOOLEAN_REASON))
    elif f.kind is Kind.DECIMAL:
        checks.append(_matches(DECIMAL_PATTERN, "{value!r} is not a plain decimal number "
                                                "(digits with '.' as the decimal point, no thousands separators)"))
        checks.extend(_exact_decimal_checks())
        checks.extend(_range_checks(f, parse=parse_number))
    elif f.kind is Kind.INTEGER:
        checks.append(_matches(INTEGER_PATTERN, "{value!r} is not a whole number"))
        checks.extend(_range_checks(f, parse=lambda s: parse_number(s, integer=True)))
    elif f.kind is Kind.TIMESTAMP:
        checks.append(pa.Check(lambda s: parse_timestamps(s).notna(), name="timestamp",
                               error="{value!r} is not an ISO-8601 timestamp"))
    else:
        checks.extend(_text_checks(f))
    return checks


def _typed_checks(f: Field) -> list[pa.Check]:
    if f.is_numeric:
        return _range_checks(f, parse=None)
    if f.kind is Kind.BOOLEAN:
        return []
    return _text_checks(f)


def _text_checks(f: Field) -> list[pa.Check]:
    """Checks shared by raw and typed frames for the text-like kinds."""
    if f.kind is Kind.ENUM:
        return [_isin(f.choices, "{value!r} is not one of " + ", ".join(f.choices))]
    if f.kind is Kind.COUNTRY:
        return [pa.Check(lambda s: s.isin(country_codes()), name="country",
                         error="{value!r} is not a known country (ISO 3166-1 alpha-2, alpha-3 or English name)")]
    if f.kind is Kind.CURRENCY:
        return [pa.Check(lambda s: s.isin(currency_codes()), name="currency",
                         error="{value!r} is not an ISO 4217 currency code")]
    checks = []
    if f.kind is Kind.EMAIL:
        checks.append(_matches(EMAIL_PATTERN, "value {value!r} is not a valid email address"))
    if f.max_length is not None:
        limit = f.max_length
        checks.append(pa.Check(lambda s: s.str.len() <= limit, name=f"max_length_{limit}",
                               error=f"length {{length}} exceeds maximum {limit}"))
    return checks


def _range_checks(f: Field, *, parse) -> list[pa.Check]:
    def number(s: pd.Series) -> pd.Series:
        # Unparseable text fails its own check; here it passes (NA compares NA, hence the fills below).
        return parse(s) if parse else s

    checks = []
    if f.minimum is not None:
        low = f.minimum
        if f.exclusive_minimum:
            checks.append(pa.Check(lambda s: ~(number(s) <= low).fillna(False), name=f"greater_than_{low:g}",
                                   error=f"value {{value}} must be greater than {low:g}"))
        else:
            checks.append(pa.Check(lambda s: ~(number(s) < low).fillna(False), name=f"at_least_{low:g}",
                                   error=f"value {{value}} is below the minimum {low:g}"))
    if f.maximum is not None:
        high = f.maximum
        checks.append(pa.Check(lambda s: ~(number(s) > high).fillna(False), name=f"at_most_{high:g}",
                               error=f"value {{value}} exceeds the maximum {high:g}"))
    return checks


def _exact_decimal_checks() -> list[pa.Check]:
    """A decimal the model cannot hold exactly is refused, never rounded (model/decimals.py)."""
    kept = f"the model keeps {SCALE} decimal places exactly and never rounds"
    return [
        pa.Check(lambda s: ~rounds_to_zero(s), name="rounds_to_zero",
                 error=f"{{value!r}} has no significant digit within {SCALE} decimal places and would be "
                       f"rounded to zero; {kept}"),
        pa.Check(lambda s: ~loses_decimal_places(s), name="decimal_places",
                 error=f"{{value!r}} has more than {SCALE} decimal places and would lose digits; {kept}"),
        pa.Check(lambda s: ~too_many_integer_digits(s), name="integer_digits",
                 error=f"{{value!r}} has more than {INTEGER_DIGITS} digits before the decimal point; "
                       f"the model holds at most DECIMAL({PRECISION}, {SCALE})"),
    ]


def _isin(choices: tuple[str, ...], error: str) -> pa.Check:
    allowed = frozenset(choices)
    return pa.Check(lambda s: s.isin(allowed), name="one_of", error=error)


def _matches(pattern: str, error: str) -> pa.Check:
    return pa.Check(lambda s: s.str.fullmatch(pattern).fillna(False), name="pattern", error=error)


def _entity(entity: Entity | str) -> Entity:
    return entity_named(entity) if isinstance(entity, str) else entity


def failure_issues(frame: pd.DataFrame, schema: pa.DataFrameSchema, values: pd.DataFrame,
                   sources: pd.Series, rows: pd.Series) -> pd.DataFrame:
    """Validate lazily and turn pandera's failure cases into issue rows, one per failing (row, field).

    `values` holds what the user wrote (before normalisation), so the issue quotes the source,
    not our rewrite of it. `sources`/`rows` are the frame's `_source`/`_row`.
    """
    try:
        schema.validate(frame, lazy=True)
        return empty_issues()
    except SchemaErrors as exc:
        errors = exc
    cases = errors.failure_cases
    cases = cases[cases["index"].notna() & cases["column"].isin(frame.columns)].copy()
    if cases.empty:
        raise RuntimeError(f"{schema.name}: validation failed without row-level cases:\n{errors}")  # a bug, not data
    cases["order"] = pd.to_numeric(cases["check_number"], errors="coerce").fillna(-1)
    # Several checks can fail on one value (length and pattern): the earliest declared is the clearest.
    cases = cases.sort_values(["index", "column", "order"]).drop_duplicates(["index", "column"])
    index = pd.Index(cases["index"].astype("int64"))
    columns = cases["column"].tolist()
    shown = [values.at[i, c] for i, c in zip(index, columns)]
    reasons = [_reason(check, value) for check, value in zip(cases["check"], shown)]
    return issue_frame(sources.loc[index].to_numpy(), rows.loc[index].to_numpy(), columns,
                       [None if pd.isna(v) else v for v in shown], reasons)


def _reason(check: str, value: object) -> str:
    if check == "not_nullable":
        return REQUIRED_REASON
    text = "" if pd.isna(value) else str(value)
    try:
        return check.format(value=text, length=len(text))
    except (KeyError, IndexError, ValueError):
        return check
