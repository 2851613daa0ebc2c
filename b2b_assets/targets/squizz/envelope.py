"""The Ecommerce Standards Document envelope that wraps the records of one import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import simplejson
from zlib_ng import zlib_ng as zlib

from b2b_assets.targets.core.json_columns import JsonArray

ESD_VERSION = 1.5  # a number, as the vendor's libraries send it (a Java double; the seed's examples show 1.3)
TRANSFER_MODES = ("INCREMENT", "INCREMENT_AVAILABLE", "COMPLETE")
# Measured on 5,000-record documents of the bench export (README, "SQUIZZ first sync: client CPU"):
# zlib-ng level 2 writes a price document (464 kB of JSON) to 40.8 kB in 0.56 ms and a products one
# (3.5 MB, nested sell units) to 213 kB in 4.2 ms, where the standard library's zlib at level 1 took
# 1.55 ms for 44.6 kB and 10.2 ms for 219 kB. The client's CPU is the scarce part on two cores.
GZIP_LEVEL = 2
_GZIP_CONTAINER = 16 + zlib.MAX_WBITS  # zlib's wbits for a gzip header and trailer around the deflate stream
LOCATIONS_TYPE_ID = 23  # the one type whose configs name the record and nested-stock fields separately


def build_document(type_id: int, records: Sequence[dict] | JsonArray, data_fields: Sequence[str], *,
                   transfer_mode: str = "INCREMENT", child_data_fields: Sequence[str] | None = None,
                   price_groups: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The ESD document for `records`.

    INCREMENT is the default because a delta sync must never use COMPLETE:
    COMPLETE deactivates every record the upload does not contain.
    """
    if transfer_mode not in TRANSFER_MODES:
        raise ValueError(f"dataTransferMode must be one of {TRANSFER_MODES}, not {transfer_mode!r}")
    if type_id == LOCATIONS_TYPE_ID:
        configs = {"dataFieldsLocation": ",".join(data_fields),
                   "dataFieldsLocationStock": ",".join(child_data_fields or ())}
    else:
        configs = {"dataFields": ",".join(data_fields)}
    document: dict[str, Any] = {
        "version": ESD_VERSION,
        "resultStatus": 1,
        "message": "",
        "dataTransferMode": transfer_mode,
        "totalDataRecords": len(records),
        "configs": configs,
    }
    if price_groups:
        document["priceGroups"] = price_groups
    document["dataRecords"] = records if isinstance(records, JsonArray) else list(records)
    return document


def encode_document(document: dict[str, Any]) -> bytes:
    """Compact JSON, gzip-compressed as the seed recommends; NaN is refused rather than sent as invalid JSON.

    Decimals are written digit for digit (simplejson's use_decimal): the standard library
    would need floats, and a float cannot hold every 14.4 decimal the way it was written.
    Records already written as JSON (`JsonArray`, from `Payload.data_records`) are compressed
    straight from their Arrow buffer after the rest of the document (`dataRecords` is its last
    member): never decoded into a Python string, joined or copied.
    """
    records = document.get("dataRecords")
    if isinstance(records, JsonArray):
        head = _dumps({k: v for k, v in document.items() if k != "dataRecords"})
        pieces = [(head[:-1] + ',"dataRecords":').encode("utf-8"), *records.chunks(), b"}"]
    else:
        pieces = [_dumps(document).encode("utf-8")]
    gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_CONTAINER)
    return b"".join([*map(gzip.compress, pieces), gzip.flush()])


def _dumps(value: dict[str, Any]) -> str:
    return simplejson.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, use_decimal=True)
