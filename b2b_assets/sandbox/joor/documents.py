"""Reading bulk connection requests (JSON or XML) and writing the wrapped replies.

A request is checked against the seed's table (`schema`) in one walk that also
normalises it: whatever the encoding, a connection comes out as the same
JSON-like dict (text as str, booleans as bool, decimals as float, 1-n nodes as
lists), so JSON and XML uploads are stored and read back identically.

Types are strict per encoding, as the seed's examples write them: booleans are
JSON `true`/`false` or XML `True`/`False`; a decimal is a JSON number or XML
text that parses as one; text must be a JSON string. XML is parsed with entity
resolution, DTD loading and network access off, so an external entity in an
upload is neither fetched nor expanded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from lxml import etree

from b2b_assets.sandbox.joor.schema import (
    CONNECTION_FIELDS,
    CONNECTION_GROUPS,
    CONNECTION_LISTS,
    STATE_COUNTRIES,
    FieldRule,
    Kind,
    ListNode,
)

JSON, XML = "application/json", "application/xml"
MEDIA_TYPES = (JSON, XML)


class BadDocument(ValueError):
    """The body is not a bulk connection document at all (not JSON/XML, wrong root)."""


@dataclass
class Problem:
    connection: int  # 0-based position in the request
    customer_code: str | None
    field: str  # path such as buyers[1].buyer_email
    reason: str

    def text(self) -> str:
        code = f" ({self.customer_code})" if self.customer_code else ""
        return f"connection {self.connection + 1}{code}: {self.field}: {self.reason}"


@dataclass
class ReadRequest:
    connections: list[dict[str, Any]]
    problems: list[Problem] = field(default_factory=list)
    ignored_fields: set[str] = field(default_factory=set)


def media_type(header: str) -> str:
    return header.split(";")[0].strip().lower()


# --- reading ------------------------------------------------------------------------------------------------

_XML_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True)


def safe_xml(body: bytes) -> etree._Element:
    """Parse XML without resolving entities or touching the network; raises BadDocument."""
    try:
        return etree.fromstring(body, etree.XMLParser(**_XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadDocument(f"the body is not well-formed XML: {exc}") from None


def read_request(content_type: str, body: bytes) -> ReadRequest:
    """The connections of a POST body, normalised, with every problem the table finds."""
    if media_type(content_type) == JSON:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadDocument(f"the body is not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("bulk_connections"), dict):
            raise BadDocument('the body must be {"bulk_connections": {"connection": [...]}}')
        raw = document["bulk_connections"].get("connection")
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            raise BadDocument("bulk_connections.connection must be a list of connections")
        kind = JSON
    else:
        root = safe_xml(body)
        if root.tag != "bulk_connections":
            raise BadDocument(f"the root element must be <bulk_connections>, not <{root.tag}>")
        raw = [_xml_record(element, _connection_shape()) for element in root if element.tag == "connection"]
        kind = XML
    if not raw:
        raise BadDocument("bulk_connections must hold at least one connection (the table's 1-n)")
    read = ReadRequest([])
    for position, candidate in enumerate(raw):
        checker = _Checker(kind, position, read)
        read.connections.append(checker.connection(candidate))
    return read


def _connection_shape() -> dict[str, Any]:
    """Tag -> what it holds, for turning XML elements into the JSON-like shape."""
    shape: dict[str, Any] = {f.name: None for f in CONNECTION_FIELDS}
    shape.update({node.name: node for node in CONNECTION_LISTS})
    shape.update({group.name: {node.name: node for node in group.lists} for group in CONNECTION_GROUPS})
    return shape


class _Repeated(list):
    """An XML scalar element that occurred more than once (the table allows one)."""


class _Unknown:
    """An XML element where the table expects text."""


def _xml_record(element: etree._Element, shape: Mapping[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # entity references and processing instructions are not fields
        spec = shape.get(child.tag)  # None: a text field of the table, or a field the table lacks
        if isinstance(spec, ListNode):
            value: Any = [_xml_record(item, {f.name: None for f in spec.fields})
                          for item in child if isinstance(item.tag, str) and item.tag == spec.item]
        elif isinstance(spec, dict):
            value = _xml_record(child, spec)
        elif any(isinstance(inner.tag, str) for inner in child):
            value = _Unknown()
        else:
            # An unresolved entity reference stays the literal text "&name;".
            value = "".join(child.itertext())
        if child.tag in record and child.tag in shape and spec is None:
            previous = record[child.tag]
            record[child.tag] = _Repeated([*(previous if isinstance(previous, _Repeated) else [previous]), value])
        else:
            record[child.tag] = value
    return record


class _Checker:
    """Checks and normalises one connection; problems go to the shared ReadRequest."""

    def __init__(self, kind: str, position: int, read: ReadRequest):
        self.kind, self.position, self.read = kind, position, read
        self.code: str | None = None

    def problem(self, path: str, reason: str) -> None:
        self.read.problems.append(Problem(self.position, self.code, path, reason))

    def connection(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.problem("connection", "must be an object")
            return {}
        code = raw.get("customer_code")
        self.code = code if isinstance(code, str) and code else None
        out = self.fields(raw, CONNECTION_FIELDS, "")
        for node in CONNECTION_LISTS:
            self.list_node(raw, node, "", out)
        for group in CONNECTION_GROUPS:
            if group.name not in raw:
                continue
            value = raw[group.name]
            if not isinstance(value, dict):
                self.problem(group.name, "must be an object holding " + " and ".join(n.name for n in group.lists))
                continue
            nested: dict[str, Any] = {}
            for node in group.lists:
                self.list_node(value, node, f"{group.name}.", nested)
            self.ignore(value, (n.name for n in group.lists), f"{group.name}.")
            out[group.name] = nested
        known = [f.name for f in CONNECTION_FIELDS] + [n.name for n in CONNECTION_LISTS] + [g.name for g in CONNECTION_GROUPS]
        self.ignore(raw, known, "")
        return out

    def list_node(self, raw: Mapping[str, Any], node: ListNode, prefix: str, out: dict[str, Any]) -> None:
        path = prefix + node.name
        if node.name not in raw:
            if node.required:
                self.problem(path, "is required (at least one " + node.item + ")")
            return
        items = raw[node.name]
        if not isinstance(items, list):
            self.problem(path, f"must be a list of {node.item} entries")
            return
        if not items:
            self.problem(path, f"must hold at least one {node.item} (the table's 1-n); leave the node out instead")
            return
        checked = []
        for index, item in enumerate(items):
            item_path = f"{path}[{index}]"
            if not isinstance(item, dict):
                self.problem(item_path, "must be an object")
                continue
            checked.append(self.fields(item, node.fields, item_path + "."))
            self.ignore(item, (f.name for f in node.fields), item_path + ".")
        out[node.name] = checked

    def fields(self, raw: Mapping[str, Any], rules: tuple[FieldRule, ...], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rule in rules:
            if rule.name in raw:
                value = self.value(raw[rule.name], rule, prefix + rule.name)
                if value is not None:
                    out[rule.name] = value
        for rule in rules:
            path = prefix + rule.name
            present = out.get(rule.name) not in (None, "")
            if rule.required and not present:
                self.problem(path, "is required")
            if rule.required_in_countries_of and not present:
                country = country_code(out.get(rule.required_in_countries_of))
                if country in STATE_COUNTRIES:
                    self.problem(path, f"is required when the country is US, CA, JP or AU (it is {country})")
            if rule.is_country and present and country_code(out[rule.name]) is None:
                self.problem(path, f"{out[rule.name]!r} is not a country name in English or an ISO code")
        return out

    def value(self, value: Any, rule: FieldRule, path: str) -> Any:
        if isinstance(value, _Repeated):
            self.problem(path, f"appears {len(value)} times; the table allows one")
            return None
        if isinstance(value, _Unknown) or isinstance(value, (dict, list)):
            self.problem(path, f"must be a single {rule.kind.value} value")
            return None
        if value is None:
            return None
        if rule.kind is Kind.BOOLEAN:
            return self.boolean(value, path)
        if rule.kind is Kind.DECIMAL:
            return self.decimal(value, path)
        if not isinstance(value, str):
            self.problem(path, f"must be a string, not {type(value).__name__}")
            return None
        if rule.max_length is not None and len(value) > rule.max_length:
            self.problem(path, f"is {len(value)} characters; the maximum is {rule.max_length}")
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if self.kind == JSON and isinstance(value, bool):
            return value
        if self.kind == XML and value in ("True", "False"):
            return value == "True"
        expected = "true or false" if self.kind == JSON else "True or False"
        self.problem(path, f"must be {expected}, not {value!r}")
        return None

    def decimal(self, value: Any, path: str) -> float | None:
        if self.kind == JSON and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if self.kind == XML and isinstance(value, str):
            try:
                number = Decimal(value)
                if number.is_finite():
                    return float(number)
            except InvalidOperation:
                pass
        self.problem(path, f"must be a decimal number, not {value!r}")
        return None

    def ignore(self, raw: Mapping[str, Any], known: Iterable[str], prefix: str) -> None:
        known = set(known)
        path = re.sub(r"\[\d+\]", "", prefix)  # buyers[3]. -> buyers.
        self.read.ignored_fields.update(path + name for name in raw if name not in known)


def country_code(value: Any) -> str | None:
    """ISO alpha-2 for an English country name or an ISO code, as JOOR accepts them; None if unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        return None


# --- writing ------------------------------------------------------------------------------------------------

# XML item element names for the reply's lists.
_XML_ITEMS = {"bulk_connections_jobs": "bulk_connection_job", "sandbox_connection_results": "connection_result",
              "ignored_fields": "field"}


def reply_body(reply: Mapping[str, Any], media: str) -> bytes:
    """`{"bulk_connections": reply}` in the negotiated encoding."""
    if media == JSON:
        return json.dumps({"bulk_connections": reply}).encode()
    root = etree.Element("bulk_connections")
    _xml_fill(root, reply)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _xml_fill(parent: etree._Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            _xml_fill(etree.SubElement(parent, name), inner)
    elif isinstance(value, list):
        for inner in value:
            _xml_fill(etree.SubElement(parent, _XML_ITEMS.get(parent.tag, "item")), inner)
    elif isinstance(value, bool):
        parent.text = "True" if value else "False"
    elif value is not None:
        parent.text = str(value)
