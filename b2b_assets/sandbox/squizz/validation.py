"""Whether an import_esd upload is acceptable: body, ESD header, then every record.

`read_document` turns the HTTP body into an `EsdDocument` or raises `ImportRejected` with
the result code the platform returns for that fault. `record_problems` lists every record
that fails its type's field table, one self-contained entry per problem:

    record 3 (keyProductID=P-1): price must be greater than 0

Record indexes count from 0, as in `dataRecords[3]`. Every field a record carries is
checked against its table, whether or not `dataFields` lists it (the list decides what is
saved, not what may be malformed), and key and mandatory fields are checked even when
absent. A field the table lacks is refused rather than ignored, in the record and in its
nested lists alike.

The header must be exact too: duplicate JSON keys are malformed JSON, and
`totalDataRecords` is required and must count `dataRecords`.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b2b_assets.sandbox.squizz.import_types import (
    DECIMAL,
    ENUM,
    EPOCH_MS,
    INTEGER_LIST,
    LONG_INTEGER,
    RECORD_LIST,
    STRING,
    STRING_LIST,
    FieldSpec,
    ImportType,
)
from b2b_assets.sandbox.squizz.result_codes import ResultCode
from b2b_assets.sandbox.wire import AdminRequestError

TRANSFER_MODES = ("COMPLETE", "INCREMENT", "INCREMENT_AVAILABLE")
REQUIRED_HEADER = ("dataTransferMode", "totalDataRecords", "dataRecords", "configs")
MAX_REPORTED_PROBLEMS = 50
LONG_INTEGER_RANGE = (-(2**63), 2**63 - 1)
# Dates the platform takes: 1970-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z.
EPOCH_MS_RANGE = (0, 4_102_444_800_000 - 1)
# Fields that belong to another import type, and where they go instead.
MISPLACED_FIELDS = {("price_level_unit_prices", "quantity"): "quantity breaks are import type 6"}


class ImportRejected(Exception):
    """The platform refuses the upload as a whole, with this result code and message."""

    def __init__(self, code: ResultCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class EsdDocument:
    """An upload whose header passed: what it sends and which fields it manages.

    `nested_listed` is the nested field list of types with their own config for it
    (locations' stock); None when the upload does not configure one.
    """

    import_type: ImportType
    mode: str
    version: Any
    records: list[Any]
    listed: frozenset[str]
    nested_listed: frozenset[str] | None
    price_groups: Mapping[str, list[str]]

    def managed_nested_fields(self, name: str) -> frozenset[str] | None:
        """The fields of nested list `name` this upload manages, or None if it ignores the list.

        A list with its own config (locations' stock) manages what that config lists; any
        other list (products' sellUnits) is managed whole when `dataFields` lists it.
        """
        import_type = self.import_type
        if import_type.nested_fields_config:
            return self.nested_listed
        return frozenset(import_type.fields[name].nested) if name in self.listed else None


@dataclass(frozen=True)
class RejectionRule:
    """A sandbox rule failing any document that contains a matching record.

    `key` holds the record's key values in key order; it matches when it is a prefix of
    them, so one value matches on the first key field (e.g. keyProductID) alone.
    """

    import_type_id: int
    key: tuple[str, ...]
    code: str = "RECORD_REJECTED"
    message: str = "rejected by a sandbox rule"

    def matches(self, import_type: ImportType, record: Mapping[str, Any]) -> bool:
        if import_type.type_id != self.import_type_id:
            return False
        values = tuple("" if record.get(name) is None else str(record.get(name)) for name in import_type.key)
        return values[: len(self.key)] == self.key

    def to_json(self) -> dict[str, Any]:
        return {"import_type_id": self.import_type_id, "key": list(self.key), "code": self.code, "message": self.message}


def parse_rejection_rules(payload: Any) -> tuple[RejectionRule, ...]:
    """Rules from the admin payload's `reject` list; `key` may be one value or a list."""
    if not isinstance(payload, list):
        raise AdminRequestError("reject must be a list of rules")
    rules = []
    for entry in payload:
        if not isinstance(entry, dict) or not isinstance(entry.get("import_type_id"), int) or "key" not in entry:
            raise AdminRequestError("each reject rule needs an integer import_type_id and a key")
        key = entry["key"] if isinstance(entry["key"], list) else [entry["key"]]
        rules.append(
            RejectionRule(
                import_type_id=entry["import_type_id"],
                key=tuple(str(value) for value in key),
                code=str(entry.get("code", RejectionRule.code)),
                message=str(entry.get("message", RejectionRule.message)),
            )
        )
    return tuple(rules)


def read_document(import_type: ImportType, content_type: str, content_encoding: str, body: bytes) -> EsdDocument:
    """Decode and check the upload's header; raise `ImportRejected` on the first fault."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ImportRejected(ResultCode.WRONG_CONTENT_TYPE, f"Content-Type must be application/json, not {content_type or 'missing'}")
    document = _decode_json(_decompress(content_encoding, body))
    if not isinstance(document, dict):
        raise ImportRejected(ResultCode.HEADER_MISSING_ATTRIBUTES, "the document must be a JSON object with " + ", ".join(REQUIRED_HEADER))
    missing = [name for name in REQUIRED_HEADER if name not in document]
    if missing:
        raise ImportRejected(ResultCode.HEADER_MISSING_ATTRIBUTES, "the document header is missing " + ", ".join(missing))
    mode, records, configs = document["dataTransferMode"], document["dataRecords"], document["configs"]
    if mode not in TRANSFER_MODES:
        raise ImportRejected(ResultCode.HEADER_MALFORMED, f"dataTransferMode must be one of {', '.join(TRANSFER_MODES)}, not {mode!r}")
    if not isinstance(records, list):
        raise ImportRejected(ResultCode.HEADER_MALFORMED, "dataRecords must be a list")
    total = document["totalDataRecords"]
    if not isinstance(total, int) or isinstance(total, bool) or total != len(records):
        raise ImportRejected(
            ResultCode.HEADER_MALFORMED, f"totalDataRecords is {total!r} but dataRecords holds {len(records)} records"
        )
    if not isinstance(configs, dict):
        raise ImportRejected(ResultCode.HEADER_MALFORMED, "configs must be an object")
    listed = _listed_fields(configs, import_type.fields_config, import_type.fields, import_type.name, required=True)
    nested_listed = None
    if import_type.nested_fields_config:
        nested_name = next(iter(import_type.nested_key))
        nested_fields = import_type.fields[nested_name].nested
        nested_listed = _listed_fields(configs, import_type.nested_fields_config, nested_fields, nested_name, required=False)
        if nested_listed is None and any(isinstance(r, dict) and r.get(nested_name) for r in records):
            raise ImportRejected(
                ResultCode.HEADER_MISSING_ATTRIBUTES,
                f"configs.{import_type.nested_fields_config} is missing but records carry {nested_name}",
            )
    price_groups = _price_groups(document.get("priceGroups")) if import_type.price_group_member_type else {}
    if not records:
        raise ImportRejected(ResultCode.NO_RECORD, "the document contains no records")
    version = document.get("version")
    version = float(version) if isinstance(version, Decimal) else version  # 1.5: kept JSON-ready for the stats
    return EsdDocument(import_type, mode, version, records, listed, nested_listed, price_groups)


def record_problems(document: EsdDocument, rules: Iterable[RejectionRule] = ()) -> list[str]:
    """Every problem of every record, as `record N (key): reason` entries."""
    import_type = document.import_type
    rules = [rule for rule in rules if rule.import_type_id == import_type.type_id]
    problems = []
    for index, record in enumerate(document.records):
        if not isinstance(record, dict):
            problems.append(f"record {index}: is not a JSON object")
            continue
        reasons = _record_reasons(document, record)
        reasons += [f"{rule.code}: {rule.message}" for rule in rules if rule.matches(import_type, record)]
        if reasons:  # the label only for records that have a problem: most have none
            key = import_type.display_key(record)
            label = f"record {index} ({key})" if key else f"record {index}"
            problems.extend(f"{label}: {reason}" for reason in reasons)
    return problems


def summarize_problems(problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED_PROBLEMS]
    hidden = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {hidden} more problems" if hidden else "")


def _decompress(content_encoding: str, body: bytes) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ImportRejected(ResultCode.JSON_MALFORMED, f"unsupported Content-Encoding {content_encoding}")
    try:
        return gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportRejected(ResultCode.JSON_MALFORMED, f"the body is not valid gzip: {exc}") from None


def _decode_json(raw: bytes) -> Any:
    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # Parsers disagree on which of two equal keys wins; the platform does not guess.
        obj = dict(pairs)
        if len(obj) != len(pairs):
            duplicate = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
            raise ValueError(f"duplicate key {duplicate!r}")
        return obj

    try:
        # Decimal: a number is checked digit for digit as the client wrote it, not as a float re-spells it.
        return json.loads(raw.decode("utf-8"), parse_constant=refuse_constant, object_pairs_hook=refuse_duplicate_keys,
                          parse_float=Decimal)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ImportRejected(ResultCode.JSON_MALFORMED, f"the body is not valid JSON: {exc}") from None


def _listed_fields(
    configs: Mapping[str, Any], config_name: str, fields: Mapping[str, FieldSpec], owner: str, *, required: bool
) -> frozenset[str] | None:
    """The field names a `configs` attribute lists (comma-separated, spaces ignored)."""
    if config_name not in configs:
        if required:
            raise ImportRejected(ResultCode.HEADER_MISSING_ATTRIBUTES, f"configs.{config_name} is missing")
        return None
    value = configs[config_name]
    if not isinstance(value, str):
        raise ImportRejected(ResultCode.HEADER_MALFORMED, f"configs.{config_name} must be a comma-separated string")
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise ImportRejected(ResultCode.HEADER_MALFORMED, f"configs.{config_name} lists no fields")
    unknown = names - set(fields)
    if unknown:
        raise ImportRejected(
            ResultCode.HEADER_MALFORMED, f"configs.{config_name} names fields {owner} do not have: {', '.join(sorted(unknown))}"
        )
    return names


def _price_groups(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(members, list) and all(isinstance(m, str) for m in members) for members in value.values()
    ):
        raise ImportRejected(ResultCode.HEADER_MALFORMED, "priceGroups must map each price group id to a list of account ids")
    return value


def _record_reasons(document: EsdDocument, record: Mapping[str, Any]) -> list[str]:
    import_type = document.import_type
    reasons = _fields_reasons("", import_type.fields, record, import_type.name)
    for group in import_type.one_of:
        if all(_is_blank(record.get(name)) for name in group):
            reasons.append(f"{' or '.join(group)} is mandatory")
    price_group = record.get("keyPriceGroupID")
    if import_type.price_group_member_type and isinstance(price_group, str) and price_group and price_group not in document.price_groups:
        reasons.append(f"keyPriceGroupID {price_group} is not in the document's priceGroups")
    return reasons


def _fields_reasons(prefix: str, specs: Mapping[str, FieldSpec], record: Mapping[str, Any], owner: str) -> list[str]:
    """Why a record (or a nested entry, named by `prefix`) does not fit its field table."""
    reasons = []
    for name, value in record.items():
        spec = specs.get(name)
        if spec is None:
            hint = MISPLACED_FIELDS.get((owner, name))
            reasons.append(f"{prefix}{name} is not a field of {owner}" + (f" ({hint})" if hint else ""))
        elif spec.kind == RECORD_LIST:
            if value is not None:
                reasons += _nested_reasons(name, value, spec.nested)
        else:
            reason = _value_reason(prefix + name, spec, value)
            if reason:
                reasons.append(reason)
    reasons += [f"{prefix}{name} is mandatory" for name, spec in specs.items() if spec.mandatory and name not in record]
    return reasons


def _nested_reasons(name: str, entries: Any, specs: Mapping[str, FieldSpec]) -> list[str]:
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        return [f"{name} must be a list of records"]
    reasons = []
    for position, entry in enumerate(entries):
        reasons += _fields_reasons(f"{name}[{position}].", specs, entry, name)
    return reasons


def _value_reason(name: str, spec: FieldSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec`, or None. Absent (or null) is fine unless mandatory."""
    if value is None or (spec.mandatory and _is_blank(value)):
        return f"{name} is mandatory" if spec.mandatory else None
    check = _KIND_CHECKS[spec.kind]
    return check(name, spec, value)


def _check_string(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{name} must be a string"
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"{name} is longer than {spec.max_length} characters"
    return None


def _check_decimal(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not _is_number(value) or not math.isfinite(value):
        return f"{name} must be a number"
    integer_digits, decimal_places = _digits(value)
    if integer_digits > spec.integer_digits:
        return f"{name} has more than {spec.integer_digits} integer digits"
    if decimal_places > spec.decimal_places:
        return f"{name} has more than {spec.decimal_places} decimal places"
    if spec.positive and value <= 0:
        return f"{name} must be greater than 0"
    return _bounds_reason(name, spec, value)


def _check_long_integer(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{name} must be a whole number"
    low, high = LONG_INTEGER_RANGE
    if not low <= value <= high:
        return f"{name} does not fit a long integer"
    return _bounds_reason(name, spec, value)


def _check_epoch_ms(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{name} must be a whole number of milliseconds since 1970-01-01"
    low, high = EPOCH_MS_RANGE
    if not low <= value <= high:
        return f"{name} must be an epoch-milliseconds date from 1970 up to 2100"
    return None


def _check_enum(name: str, spec: FieldSpec, value: Any) -> str | None:
    # An optional enum whose default is the empty string (referenceType) may be sent empty.
    if value == "" and spec.default == "":
        return None
    if value not in spec.choices:
        return f"{name} must be one of {', '.join(spec.choices)}"
    return None


def _check_string_list(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"{name} must be a list of strings"
    for position, item in enumerate(value):
        if spec.max_length is not None and len(item) > spec.max_length:
            return f"{name}[{position}] is longer than {spec.max_length} characters"
    return None


def _check_integer_list(name: str, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        return f"{name} must be a list of whole numbers"
    return None


_KIND_CHECKS = {
    STRING: _check_string,
    DECIMAL: _check_decimal,
    LONG_INTEGER: _check_long_integer,
    EPOCH_MS: _check_epoch_ms,
    ENUM: _check_enum,
    STRING_LIST: _check_string_list,
    INTEGER_LIST: _check_integer_list,
}


def _bounds_reason(name: str, spec: FieldSpec, value: float) -> str | None:
    if spec.bounds and not spec.bounds[0] <= value <= spec.bounds[1]:
        low, high = spec.bounds
        return f"{name} must be between {low:g} and {high:g}"
    return None


def _digits(value: int | float | Decimal) -> tuple[int, int]:
    """(integer digits, decimal places) of a JSON number as it was written (parsed as Decimal)."""
    if isinstance(value, int):
        return (len(str(abs(value))) if value else 0), 0
    if not value:
        return 0, 0
    sign, digits, exponent = Decimal(repr(value) if isinstance(value, float) else value).normalize().as_tuple()
    return max(0, len(digits) + exponent), max(0, -exponent)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
