"""Guessing what a text file does not say: its encoding (byte-order mark, declaration, UTF-8 or cp1252) and its delimiter."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


@dataclass(frozen=True)
class FileEncoding:
    """How to read a file's bytes: skip `skip` bytes (its BOM), then decode with `codec`.

    `problem` is set when the file cannot be read at all (a file-level issue); `warning` when it
    is read on a guess the user should confirm.
    """

    codec: str
    skip: int = 0
    problem: str | None = None
    warning: str | None = None


# UTF-32 LE's mark starts with UTF-16 LE's, so it is looked for first.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_DECLARE = "declare the file's real encoding for this source in the mapping, e.g. `encoding: cp1252`"


def byte_order_mark(path: Path) -> tuple[str | None, int]:
    """The Unicode encoding a file's byte-order mark names, and the mark's length (None, 0 without one)."""
    with path.open("rb") as fh:
        start = fh.read(4)
    for mark, codec in _BOMS:
        if start.startswith(mark):
            return codec, len(mark)
    return None, 0


def check_encoding(path: Path, encoding: str, skip: int = 0) -> EncodingCheck:
    """Decode the whole file once, streaming, so a bad byte is found before any row is handed on."""
    decoder = codecs.getincrementaldecoder(encoding)()
    utf8 = codecs.lookup(encoding).name == "utf-8"
    offset = skip
    with path.open("rb") as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            # Plain ASCII is valid UTF-8, proven by one vectorised pass, unless a character split at the end
            # of the last chunk waits for its bytes (the decoder then holds them).
            if utf8 and chunk and not decoder.getstate()[0] and np.frombuffer(chunk, dtype=np.uint8).max() < 0x80:
                offset += len(chunk)
                continue
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                start = offset + exc.start if exc.start >= 0 else offset
                bad = chunk[exc.start] if 0 <= exc.start < len(chunk) else None
                return EncodingCheck(False, start, bad)
            if not chunk:
                return EncodingCheck(True)
            offset += len(chunk)


def choose_encoding(path: Path, declared: str | None) -> FileEncoding:
    """How to read `path`: its byte-order mark, else the declaration, else UTF-8 with a cp1252 fallback.

    A UTF-16/32 mark wins over a declaration (no 8-bit encoding starts that way). A UTF-8 mark on a
    body that is not UTF-8 (Excel's "CSV UTF-8" re-saved by another tool) is treated as an undeclared
    file: read as cp1252 with a warning, the mark dropped.
    """
    bom, skip = byte_order_mark(path)
    if bom is not None and bom != "utf-8":
        return _checked(path, bom, skip, f"detected from the file's byte-order mark ({bom.upper()})")
    if declared is not None and codecs.lookup(declared).name != "utf-8":
        return _checked(path, declared, skip, "declared in the mapping")
    utf8 = check_encoding(path, "utf-8", skip)
    if utf8.ok:
        return FileEncoding("utf-8", skip)
    where = describe_offset(path, utf8)
    if declared is not None:  # declared UTF-8 and it is not: the declaration or the file is wrong
        return FileEncoding("utf-8", skip, problem=f"file is not valid UTF-8 as declared ({where}); "
                                                  f"{_DECLARE}")
    fallback = FALLBACK_ENCODING if check_encoding(path, FALLBACK_ENCODING, skip).ok else "latin-1"
    marked = " although it starts with a UTF-8 byte-order mark" if skip else ""
    return FileEncoding(fallback, skip, warning=f"{path.name}: not valid UTF-8{marked} ({where}); read as "
                                                f"{fallback}. Declare `encoding:` for this file in the mapping "
                                                "to confirm.")


def _checked(path: Path, codec: str, skip: int, why: str) -> FileEncoding:
    check = check_encoding(path, codec, skip)
    if check.ok:
        return FileEncoding(codec, skip)
    return FileEncoding(codec, skip, problem=f"file is not valid {codec} ({why}): {describe_offset(path, check)}; "
                                             f"{_DECLARE}")


def describe_offset(path: Path, check: EncodingCheck) -> str:
    """Where decoding failed, as a user finds it in an editor: byte, offset and line."""
    breaks, left, last = 0, check.offset, b""
    with path.open("rb") as fh:  # in chunks: the bad byte may sit near the end of a large file
        while left > 0 and (chunk := fh.read(min(left, _SCAN_CHUNK))):
            left -= len(chunk)
            joined = last + chunk  # a CRLF split across chunks is one line break
            breaks += chunk.count(b"\n") + chunk.count(b"\r") - joined.count(b"\r\n")
            last = chunk[-1:]
    line = breaks + 1
    byte = f"byte 0x{check.byte:02X} " if check.byte is not None else ""
    return f"{byte}at offset {check.offset}, line {line}"


def read_head(path: Path, encoding: FileEncoding) -> str:
    """The start of the file as text, without its BOM: enough for the header row."""
    with path.open("rb") as fh:
        fh.seek(encoding.skip)
        raw = fh.read(_HEAD_BYTES)
    return raw.decode(encoding.codec, errors="replace")


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
    # newline="" lets csv see CR-only, LF and CRLF line ends alike (old Mac and some AS/400 exports use CR).
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
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
