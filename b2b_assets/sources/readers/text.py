"""Guessing what a text file does not say: its encoding and its delimiter."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

DELIMITER_CANDIDATES = (",", ";", "|", "\t")  # ties go to the earlier one
FALLBACK_ENCODING = "cp1252"  # what Windows ERPs write when they do not write UTF-8
_SCAN_CHUNK = 4 << 20
_HEAD_BYTES = 1 << 20
_QUOTED = re.compile(r'"(?:[^"]|"")*"')


@dataclass(frozen=True)
class EncodingCheck:
    ok: bool
    offset: int | None = None  # first undecodable byte
    byte: int | None = None


def check_encoding(path: Path, encoding: str) -> EncodingCheck:
    """Decode the whole file once, streaming, so a bad byte is found before any row is handed on."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                start = offset + exc.start if exc.start >= 0 else offset
                bad = chunk[exc.start] if 0 <= exc.start < len(chunk) else None
                return EncodingCheck(False, start, bad)
            if not chunk:
                return EncodingCheck(True)
            offset += len(chunk)


def choose_encoding(path: Path, declared: str | None) -> tuple[str, EncodingCheck]:
    """The encoding to read with, and the UTF-8 check that led to it.

    Undeclared files are UTF-8 (BOM or not) unless they do not decode as such;
    then cp1252, or latin-1 for the five bytes cp1252 leaves undefined.
    """
    if declared is not None and codecs.lookup(declared).name != "utf-8":
        return declared, EncodingCheck(True)
    utf8 = check_encoding(path, "utf-8")
    if utf8.ok or declared is not None:
        return "utf-8", utf8
    if check_encoding(path, FALLBACK_ENCODING).ok:
        return FALLBACK_ENCODING, utf8
    return "latin-1", utf8


def read_head(path: Path, encoding: str) -> str:
    """The start of the file as text, without a BOM: enough for the header row."""
    with path.open("rb") as fh:
        raw = fh.read(_HEAD_BYTES)
    text = raw.decode(encoding, errors="replace")
    return text.removeprefix("\ufeff")


def first_line(head: str) -> str:
    return head.splitlines()[0] if head else ""


def delimiter_counts(line: str) -> dict[str, int]:
    """How often each candidate occurs in a header line outside quotes."""
    unquoted = _QUOTED.sub("", line)
    return {d: unquoted.count(d) for d in DELIMITER_CANDIDATES}


def sniff_delimiter(line: str) -> str | None:
    counts = delimiter_counts(line)
    best = max(DELIMITER_CANDIDATES, key=lambda d: counts[d])  # max keeps the first of equals
    return best if counts[best] else None


def parse_header(head: str, delimiter: str) -> tuple[list[str], int]:
    """Column names of the first record, and how many physical lines that record spans."""
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    try:
        names = next(reader)
    except StopIteration:
        return [], 0
    return names, reader.line_num


def unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Make header names unique (`x`, `x.2`, ...) and return the ones that repeated."""
    seen: dict[str, int] = {}
    out, repeated = [], []
    for name in (n.strip() for n in names):
        if name in seen:
            seen[name] += 1
            repeated.append(name)
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 1
            out.append(name)
    return out, repeated
