"""The Bulk Connection API's two encodings: connection documents out, wrapped replies in.

A connection document is a plain nested dict (built by `mapping.documents`):
text as str, booleans as bool, decimals as float, 1-n nodes as lists. JSON
writes it as it is (booleans `true`/`false`); XML wraps each list's items in
the seed's item elements (`<buyers><buyer>…`) and writes booleans `True`/`False`,
as the seed's examples do.

Replies are parsed with lxml with entity resolution, DTD loading and network
access off: an entity a reply declares is never fetched or expanded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from b2b_assets.targets.core.json_columns import JsonArray

JSON, XML = "application/json", "application/xml"
MEDIA_TYPES = (JSON, XML)

# XML item element of each 1-n node (request) and each list in a reply.
XML_ITEMS = {
    "buyers": "buyer", "shipping_addresses": "shipping_address", "shipping_methods": "shipping_method",
    "billing_addresses": "billing_address", "payment_methods": "payment_method",
    "customer_locations": "customer_location", "price_types": "price_type", "discounts": "discount",
    "warehouses": "warehouse",
}
REPLY_LISTS = {"bulk_connections_jobs": "bulk_connection_job", "sandbox_connection_results": "connection_result"}

_SAFE_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                            huge_tree=False, remove_comments=True)


class ReplyUnreadable(ValueError):
    """The body is not a Bulk Connection reply in the encoding it claims."""


def media_type(header: str) -> str:
    return header.split(";")[0].strip().lower()


def encode_connections(connections: Sequence[Mapping[str, Any]] | JsonArray, media: str) -> bytes:
    """The POST body for these connection documents (JSON also takes them already written, `json_documents`)."""
    if isinstance(connections, JsonArray):
        if media != JSON:
            raise ValueError(f"connections written as JSON cannot be sent as {media}")
        return b"".join((b'{"bulk_connections":{"connection":', *connections.chunks(), b"}}"))
    if media == JSON:
        return json.dumps({"bulk_connections": {"connection": list(connections)}}, ensure_ascii=False).encode()
    root = etree.Element("bulk_connections")
    for connection in connections:
        _fill(etree.SubElement(root, "connection"), connection)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _fill(parent: etree._Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            _fill(etree.SubElement(parent, name), inner)
    elif isinstance(value, list):
        item = XML_ITEMS[parent.tag]
        for inner in value:
            _fill(etree.SubElement(parent, item), inner)
    elif isinstance(value, bool):
        parent.text = "True" if value else "False"
    elif isinstance(value, float):
        parent.text = repr(value)
    else:
        parent.text = str(value)


def decode_reply(body: bytes, media: str) -> dict[str, Any]:
    """The inside of `{"bulk_connections": …}`: response and bulk_connections_jobs, as JSON-like values."""
    if media == JSON:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ReplyUnreadable("the reply is not valid JSON") from None
        wrapped = document.get("bulk_connections") if isinstance(document, dict) else None
    else:
        try:
            root = etree.fromstring(body, etree.XMLParser(**_SAFE_PARSER_OPTIONS))
        except etree.XMLSyntaxError:
            raise ReplyUnreadable("the reply is not well-formed XML") from None
        wrapped = _element_value(root) if root.tag == "bulk_connections" else None
    if not isinstance(wrapped, dict) or not isinstance(wrapped.get("response"), dict):
        raise ReplyUnreadable("the reply is not wrapped in bulk_connections.response")
    return wrapped


def _element_value(element: etree._Element) -> Any:
    children = [child for child in element if isinstance(child.tag, str)]
    if element.tag in REPLY_LISTS:
        return [_element_value(child) for child in children]
    if children:
        return {child.tag: _element_value(child) for child in children}
    # Text only; an entity reference (never resolved) stays its literal "&name;".
    return "".join(element.itertext())
