"""Streaming CSV reader: any delimiter, any declared encoding, malformed rows skipped and reported.

pyarrow's streaming reader parses blocks in C and types every column as a
string (so "0012" stays "0012"). It runs single-threaded on purpose: only then
does it report the row number of a malformed row, which the user needs more
than a second core (parsing is not the bottleneck, validation is).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from b2b_assets.sources.issues import IssueLog
from b2b_assets.sources.mapping import ReadOptions
from b2b_assets.sources.readers import text
from b2b_assets.sources.readers.frames import arrow_to_frame

BLOCK_BYTES = 16 << 20
MAX_VALUE_CHARS = 200  # how much of a malformed row the issue quotes


def read_csv_batches(path: Path, options: ReadOptions, log: IssueLog) -> Iterator[pd.DataFrame]:
    source = path.name
    encoding = _encoding(path, options, log)
    if encoding is None:
        return
    head = text.read_head(path, encoding)
    if not head.strip():
        log.add(source, "file is empty: no header row and no data rows")
        return

    line = text.first_line(head)
    delimiter = _delimiter(line, options, source, log)
    if delimiter is None:
        return
    names, header_lines = text.parse_header(head, delimiter)
    names, repeated = text.unique_names(names)
    if repeated:
        log.warn(f"{source}: header repeats column(s) {', '.join(sorted(set(repeated)))}; "
                 "later copies are read as <name>.2, <name>.3, ...")

    with path.open("rb") as stream:
        yield from _read_rows(stream, source, names, header_lines, delimiter, encoding, options, log)


def _read_rows(stream, source: str, names: list[str], header_lines: int, delimiter: str, encoding: str,
               options: ReadOptions, log: IssueLog) -> Iterator[pd.DataFrame]:
    malformed: list[int] = []  # record ordinals (1 = first data row) of skipped rows, in file order

    def on_invalid_row(row) -> str:
        ordinal = row.number - header_lines if row.number is not None else None
        malformed.append(ordinal)
        log.add(source, f"row has {row.actual_columns} fields, the header has {row.expected_columns} "
                        f"(delimiter {delimiter!r}); row skipped",
                row_number=ordinal, value=row.text[:MAX_VALUE_CHARS])
        return "skip"

    # A Python file object, not the path: given a path, Arrow reads ahead as fast as the disk allows and
    # would hold most of a large file in memory while the slower validation catches up.
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES, column_names=names,
                                       skip_rows=header_lines, encoding=_arrow_encoding(encoding)),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    rows_seen = 0
    for table in _rebatch(reader, options.batch_rows, source, log):
        positions = np.arange(rows_seen + 1, rows_seen + table.num_rows + 1, dtype=np.int64)
        rows_seen += table.num_rows
        yield arrow_to_frame(table, source, _record_ordinals(positions, malformed))
    if rows_seen == 0 and not malformed:
        log.add(source, "file has a header but no data rows")


def _encoding(path: Path, options: ReadOptions, log: IssueLog) -> str | None:
    encoding, utf8 = text.choose_encoding(path, options.encoding)
    if utf8.ok:
        return encoding
    where = f"byte 0x{utf8.byte:02X} at offset {utf8.offset}" if utf8.byte is not None else f"offset {utf8.offset}"
    if options.encoding is not None:  # declared UTF-8 and it is not: the declaration or the file is wrong
        log.add(path.name, f"file is not valid UTF-8 as declared ({where}); declare its real encoding, "
                           "e.g. `encoding: cp1252`")
        return None
    log.warn(f"{path.name}: not valid UTF-8 ({where}); read as {encoding}. "
             f"Declare `encoding:` for this file in the mapping to confirm.")
    return encoding


def _delimiter(line: str, options: ReadOptions, source: str, log: IssueLog) -> str | None:
    sniffed = text.sniff_delimiter(line)
    if options.delimiter is None:
        return sniffed or ","  # one column: no delimiter to find
    if text.delimiter_counts(line)[options.delimiter] == 0 and sniffed is not None:
        # Reading on would turn the whole header into one column and report every field missing.
        log.add(source, f"declared delimiter {options.delimiter!r} does not occur in the header, which looks "
                        f"{sniffed!r}-delimited; fix `delimiter:` in the mapping (or use `auto`)")
        return None
    return options.delimiter


def _arrow_encoding(encoding: str) -> str:
    # pyarrow reads UTF-8 natively (and skips its BOM); anything else is transcoded through Python's codecs.
    import codecs

    return "utf8" if codecs.lookup(encoding).name == "utf-8" else encoding


def _rebatch(reader, batch_rows: int, source: str, log: IssueLog) -> Iterator[pa.Table]:
    """Regroup pyarrow's byte-sized blocks into tables of `batch_rows` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            # Past the checks above this is rare (e.g. an undefined byte in a declared encoding); keep what was read.
            log.add(source, f"file could not be read to the end: {exc}; rows after this point were not read")
            break
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= batch_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, batch_rows)
            rest = table.slice(batch_rows)
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        yield pa.Table.from_batches(pending)


def _record_ordinals(positions: np.ndarray, malformed: list[int]) -> np.ndarray:
    """Row numbers of good rows, given their positions among good rows and the skipped rows' numbers.

    The k-th skipped row (0-based) at row number m has m - k - 1 good rows before it, so a good
    row at position p comes after every skipped row with m - k <= p.
    """
    if not malformed:
        return positions
    known = np.asarray([m for m in malformed if m is not None], dtype=np.int64)
    before = known - np.arange(len(known), dtype=np.int64)
    return positions + np.searchsorted(before, positions, side="right")
