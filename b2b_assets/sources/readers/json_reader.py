"""JSON readers: a top-level array of flat objects, or one object per line (JSONL)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd

from b2b_assets.sources.issues import IssueLog
from b2b_assets.sources.mapping import ReadOptions
from b2b_assets.sources.readers import text
from b2b_assets.sources.readers.frames import records_to_frame

CHUNK_CHARS = 1 << 20
MAX_VALUE_CHARS = 200
_WHITESPACE = " \t\r\n"


def _open_text(path: Path, options: ReadOptions, log: IssueLog):
    encoding = text.choose_encoding(path, options.encoding)
    if encoding.problem:
        log.add(path.name, encoding.problem)
        return None
    if encoding.warning:
        log.warn(encoding.warning)
    raw = path.open("rb")
    raw.seek(encoding.skip)
    return io.TextIOWrapper(raw, encoding=encoding.codec, newline="")


def read_jsonl_batches(path: Path, options: ReadOptions, log: IssueLog) -> Iterator[pd.DataFrame]:
    """One object per line; a broken line is a row-level issue and the other lines still load.

    `_row` is the line number, so blank lines are skipped but still counted.
    """
    fh = _open_text(path, options, log)
    if fh is None:
        return
    with fh:
        yield from _in_batches(_jsonl_objects(fh, path.name, log), options.batch_rows, path.name)


def read_json_batches(path: Path, options: ReadOptions, log: IssueLog) -> Iterator[pd.DataFrame]:
    """A top-level array of objects, decoded element by element so the file is never all in memory."""
    fh = _open_text(path, options, log)
    if fh is None:
        return
    with fh:
        yield from _in_batches(_array_objects(fh, path.name, log), options.batch_rows, path.name)


def _in_batches(objects: Iterator[tuple[int, dict]], batch_rows: int, source: str) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    rows: list[int] = []
    for number, record in objects:
        records.append(record)
        rows.append(number)
        if len(records) >= batch_rows:
            yield records_to_frame(records, rows, source)
            records, rows = [], []
    if records:
        yield records_to_frame(records, rows, source)


def _jsonl_objects(fh, source: str, log: IssueLog) -> Iterator[tuple[int, dict]]:
    any_line = False
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        any_line = True
        try:
            value = json.loads(line.strip(), parse_float=Decimal)  # numbers exactly as written
        except json.JSONDecodeError as exc:
            log.add(source, f"line is not valid JSON: {exc.msg} (column {exc.colno}); line skipped",
                    row_number=number, value=line.strip()[:MAX_VALUE_CHARS])
            continue
        if not isinstance(value, dict):
            log.add(source, f"line holds a JSON {_json_kind(value)}, expected an object; line skipped",
                    row_number=number, value=line.strip()[:MAX_VALUE_CHARS])
            continue
        yield number, value
    if not any_line:
        log.add(source, "file is empty: no records")


def _array_objects(fh, source: str, log: IssueLog) -> Iterator[tuple[int, dict]]:
    read = 0
    try:
        for number, value in _array_elements(fh):
            if not isinstance(value, dict):
                log.add(source, f"element is a JSON {_json_kind(value)}, expected an object; element skipped",
                        row_number=number, value=json.dumps(value, default=str)[:MAX_VALUE_CHARS])
                continue
            read += 1
            yield number, value
    except _NotAnArray as exc:
        log.add(source, str(exc))
    except json.JSONDecodeError as exc:
        log.add(source, f"JSON is malformed after element {read} read: {exc.msg} "
                        f"(line {exc.lineno}, column {exc.colno}); the rest of the file was not read")


class _NotAnArray(ValueError):
    pass


def _array_elements(fh) -> Iterator[tuple[int, object]]:
    """Yield (1-based index, value) for each element of a top-level JSON array, reading in chunks."""
    decoder = json.JSONDecoder(parse_float=Decimal)  # numbers exactly as written
    buffer, pos, eof = "", 0, False

    def fill() -> bool:
        nonlocal buffer, pos, eof
        chunk = fh.read(CHUNK_CHARS)
        if not chunk:
            eof = True
            return False
        buffer, pos = buffer[pos:] + chunk, 0
        return True

    def skip_whitespace() -> str | None:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not fill():
                return None

    first = skip_whitespace()
    if first is None:
        raise _NotAnArray("file is empty: no JSON array")
    if first != "[":
        kind = "an object" if first == "{" else "a single value"
        raise _NotAnArray(f"expected a JSON array of records at the top level, found {kind}; no rows read")
    pos += 1
    index = 0
    if skip_whitespace() == "]":
        raise _NotAnArray("file holds an empty JSON array: no records")
    while True:
        while True:
            try:
                value, end = decoder.raw_decode(buffer, pos)
                # A number or literal cut by the chunk edge decodes "successfully" but short: refill and retry.
                if end == len(buffer) and not eof and fill():
                    continue
                break
            except json.JSONDecodeError:
                if eof or not fill():
                    raise
        pos = end
        index += 1
        yield index, value
        separator = skip_whitespace()
        if separator == ",":
            pos += 1
            skip_whitespace()
        elif separator == "]":
            return
        else:
            raise json.JSONDecodeError("expected ',' or ']' after an element", buffer, pos)


def _json_kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
