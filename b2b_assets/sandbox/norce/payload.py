"""Reading an import request: the `X-StormConnect-Header`, the body, and each record's values.

The header is single-line JSON (the notes: it is not part of the body). The body
is a JSON array of objects, the same objects back to back without brackets (as
older clients stream them), or XML whose enums are integers. Record values are
checked against `schema` and normalised (enums stored by name); each problem is
a short sentence the job log repeats with the record's code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from b2b_assets.sandbox.norce.schema import (
    ACCOUNT_FIELDS_THAT_ARE_SET,
    COMPANY_FIELDS_THAT_ARE_SET,
    CUSTOMER_FIELDS_THAT_ARE_SET,
    FIELDS,
    SERIALIZATION_TYPES,
    FieldSpec,
)

HEADER_KEYS = frozenset({
    "AccountId", "CompanyFieldsThatAreSet", "CustomerFieldsThatAreSet", "AccountFieldsThatAreSet",
    "SerializationType", "SearchOnlyByCode", "IsCustomerListDelta", "IsCompanyListDelta", "StorageName",
    "SupplierId", "JobId",
})
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class BadRequest(ValueError):
    """The request cannot become a job; answered with HTTP 400 and the message."""


@dataclass(frozen=True)
class ImportHeader:
    account_id: int
    company_fields: frozenset[str]
    customer_fields: frozenset[str]
    account_fields: frozenset[str]
    serialization: str
    search_only_by_code: bool
    is_customer_list_delta: bool | None
    is_company_list_delta: bool | None


def parse_header(text: str, operation: str) -> ImportHeader:
    """The header of an ImportCompanies or ImportCustomers request; raises BadRequest."""
    if not text.strip():
        raise BadRequest("the X-StormConnect-Header header is missing")
    try:
        header = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"X-StormConnect-Header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise BadRequest("X-StormConnect-Header must be a JSON object")
    unknown = set(header) - HEADER_KEYS
    if unknown:
        raise BadRequest(f"X-StormConnect-Header has unknown members: {', '.join(sorted(unknown))}")
    if header.get("JobId") is not None:
        raise BadRequest("JobId only exists in import logs; omit it from the request header")
    if header.get("StorageName"):
        raise BadRequest("StorageName (an import file on Norce's file area) is not supported by this sandbox")
    account_id = header.get("AccountId")
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise BadRequest("AccountId is required and must be an integer")
    serialization = _serialization(header.get("SerializationType", "JSON"))
    xml = serialization == "XML"
    company = _field_set(header, "CompanyFieldsThatAreSet", COMPANY_FIELDS_THAT_ARE_SET, xml)
    customer = _field_set(header, "CustomerFieldsThatAreSet", CUSTOMER_FIELDS_THAT_ARE_SET, xml)
    account = _field_set(header, "AccountFieldsThatAreSet", ACCOUNT_FIELDS_THAT_ARE_SET, xml)
    if operation == "ImportCompanies":
        if company is None:
            raise BadRequest("CompanyFieldsThatAreSet is required for ImportCompanies")
        if customer and "Customers" not in company:
            raise BadRequest("CustomerFieldsThatAreSet is given, so 'Customers' must be in CompanyFieldsThatAreSet")
    elif customer is None:
        raise BadRequest("CustomerFieldsThatAreSet is required for ImportCustomers")
    if account and "Accounts" not in (customer or ()):
        raise BadRequest("AccountFieldsThatAreSet is given, so 'Accounts' must be in CustomerFieldsThatAreSet")
    flags = {}
    for name in ("SearchOnlyByCode", "IsCustomerListDelta", "IsCompanyListDelta"):
        value = header.get(name)
        if value is not None and not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        flags[name] = value
    search_only = bool(flags["SearchOnlyByCode"]) or "SearchOnlyByCode" in (company or frozenset()) | (customer or frozenset())
    return ImportHeader(account_id, company or frozenset(), customer or frozenset(), account or frozenset(),
                        serialization, search_only, flags["IsCustomerListDelta"], flags["IsCompanyListDelta"])


def _serialization(value: Any) -> str:
    # The seed types it "Array of strings"; clients send one value, so both are read.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(SERIALIZATION_TYPES):
        return SERIALIZATION_TYPES[value]
    if value in SERIALIZATION_TYPES:
        return value
    raise BadRequest("SerializationType must be JSON (0) or XML (1)")


def _field_set(header: Mapping[str, Any], name: str, names: Sequence[str], xml: bool) -> frozenset[str] | None:
    values = header.get(name)
    if values is None:
        return None
    if not isinstance(values, list):
        raise BadRequest(f"{name} must be an array")
    chosen = set()
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(names):
                raise BadRequest(f"{name}: {value} is not a field number (0-{len(names) - 1})")
            chosen.add(names[value])
        elif isinstance(value, str) and value in names:
            if xml:
                raise BadRequest(f"{name}: the XML serialization takes the integers, not names such as {value!r}")
            chosen.add(value)
        else:
            raise BadRequest(f"{name}: {value!r} is not one of {', '.join(names)}")
    return frozenset(chosen)


def parse_body(body: bytes, serialization: str, item_type: str) -> list[dict[str, Any]]:
    """The request's records, as JSON-shaped dicts (XML converted by the schema)."""
    if serialization == "XML":
        return _parse_xml(body, item_type)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    records = _parse_json_objects(text)
    if not all(isinstance(record, dict) for record in records):
        raise BadRequest(f"the body must be an array of {item_type} objects")
    return records


def _parse_json_objects(text: str) -> list[Any]:
    stripped = text.strip()
    if not stripped:
        raise BadRequest("the body is empty")
    decoder = json.JSONDecoder()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        return value
    # Objects back to back, as older clients streamed them (optionally comma-separated).
    records, position = [], 0
    while position < len(stripped):
        try:
            value, position = decoder.raw_decode(stripped, position)
        except ValueError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        records.append(value)
        while position < len(stripped) and stripped[position] in " \t\r\n,":
            position += 1
    return records


def _parse_xml(body: bytes, item_type: str) -> list[dict[str, Any]]:
    try:
        root = etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"the body is not well-formed XML: {exc}") from None
    items = [child for child in root if isinstance(child.tag, str)]
    wrong = {etree.QName(child).localname for child in items} - {item_type}
    if wrong:
        raise BadRequest(f"the XML body must hold <{item_type}> elements, not <{'>, <'.join(sorted(wrong))}>")
    return [_xml_object(item, item_type) for item in items]


def _xml_object(element: etree._Element, type_name: str) -> dict[str, Any]:
    fields = FIELDS[type_name]
    record: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        spec = fields.get(name)
        if spec is None:
            continue  # unknown elements are ignored, as the JSON reader ignores unknown members
        if child.get(_XSI_NIL) == "true":
            record[name] = None
        elif spec.kind == "list":
            record[name] = [_xml_object(item, spec.item) for item in child if isinstance(item.tag, str)]
        elif spec.kind == "object":
            record[name] = _xml_object(child, spec.item)
        else:
            record[name] = child.text or ""
    return record


def check_record(type_name: str, record: Mapping[str, Any], *, xml: bool) -> tuple[dict[str, Any], list[str]]:
    """The record with known fields normalised, and the problems found (empty when valid).

    Unknown members are dropped, as Norce's deserializer ignores them.
    """
    fields = FIELDS[type_name]
    normalised: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in record.items():
        spec = fields.get(name)
        if spec is None:
            continue
        if value is None:
            normalised[name] = None
            continue
        checked, problem = _check_value(spec, value, xml)
        if problem:
            problems.append(f"{name}: {problem}")
        else:
            normalised[name] = checked
    for spec in fields.values():
        if spec.required and normalised.get(spec.name) in (None, "") and not any(p.startswith(f"{spec.name}:") for p in problems):
            problems.append(f"{spec.name}: is required")
    return normalised, problems


def _check_value(spec: FieldSpec, value: Any, xml: bool) -> tuple[Any, str | None]:
    kind = spec.kind
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return None, f"must be an array of {spec.item} objects"
        items, problems = [], []
        for index, item in enumerate(value):
            checked, item_problems = check_record(spec.item, item, xml=xml)
            items.append(checked)
            problems += [f"[{index}].{p}" for p in item_problems]
        return items, "; ".join(problems) or None
    if kind == "object":
        if not isinstance(value, dict):
            return None, f"must be a {spec.item} object"
        checked, problems = check_record(spec.item, value, xml=xml)
        return checked, "; ".join(problems) or None
    if kind == "text":
        if not isinstance(value, str):
            return None, "must be a string"
        if spec.max_length is not None and len(value) > spec.max_length:
            return None, f"{len(value)} characters, more than the {spec.max_length} allowed"
        return value, None
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        if xml and value in ("true", "false", "1", "0"):
            return value in ("true", "1"), None
        return None, "must be true or false"
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if xml and isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value), None
        return None, "must be an integer"
    if kind == "decimal":
        if isinstance(value, bool):
            return None, "must be a number"
        try:
            return float(Decimal(str(value))), None
        except InvalidOperation:
            return None, "must be a number"
    if kind == "uuid":
        try:
            return str(uuid.UUID(str(value))), None
        except ValueError:
            return None, "must be a UUID"
    if kind == "datetime":
        try:
            datetime.fromisoformat(str(value))
            return str(value), None
        except ValueError:
            return None, "must be an ISO-8601 date and time"
    return _check_enum(spec, value, xml)


def _check_enum(spec: FieldSpec, value: Any, xml: bool) -> tuple[Any, str | None]:
    by_number = {number: name for name, number in spec.enum.items()}
    allowed = ", ".join(f"{name} ({number})" for name, number in spec.enum.items())
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in by_number:
        return by_number[value], None
    if isinstance(value, str) and value in spec.enum:
        if xml:
            return None, f"the XML serialization takes the integer, not {value!r}"
        return value, None
    return None, f"{value!r} is not one of {allowed}"
