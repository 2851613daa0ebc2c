"""Streaming CSV reader: any delimiter, any declared encoding, malformed rows skipped and reported.

pyarrow's streaming reader parses blocks in C and types every column as a
string (so "0012" stays "0012"). It runs single-threaded on purpose: only then
does it report the row number of a malformed row, which the user needs more
than a second core (parsing is not the bottleneck, validation is).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from b2b_assets.sources.issues import IssueLog
from b2b_assets.sources.mapping import ReadOptions
from b2b_assets.sources.readers import text
from b2b_assets.sources.readers.frames import arrow_to_frame
from b2b_assets.sources.readers.paced_stream import PacedStream
from b2b_assets.sources.value_bytes import column_bytes

BLOCK_BYTES = 4 << 20  # also the longest record Arrow parses; a few are read ahead (see paced_stream)
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
        stream.seek(encoding.skip)  # past the byte-order mark, which is not part of the first column name
        yield from _read_rows(stream, source, names, header_lines, delimiter, encoding, options, log)


def _read_rows(stream, source: str, names: list[str], header_lines: int, delimiter: str,
               encoding: text.FileEncoding, options: ReadOptions, log: IssueLog) -> Iterator[pd.DataFrame]:
    rows = _RowNumbers(source, names, delimiter, log, skipped_lines=header_lines)
    # Paced: Arrow's reader would otherwise read up to 32 blocks ahead of the slower validation.
    paced = PacedStream(stream, reads_per_block=_reads_per_block(encoding.codec))
    try:
        with paced.wanted():
            reader = pacsv.open_csv(paced, **_arrow_options(names, delimiter, rows.on_invalid_row, skip_rows=header_lines,
                                                            encoding=_arrow_encoding(encoding.codec)))
        rows_seen = 0
        for table in _rebatch(reader, paced, options.batch_rows, source, log, rows):
            positions = np.arange(rows_seen + 1, rows_seen + table.num_rows + 1, dtype=np.int64)
            rows_seen += table.num_rows
            numbers = rows.record_numbers(positions)
            swallowed = _swallowed_rows(table, delimiter)
            if swallowed is not None:
                _report_swallowed(table.filter(swallowed), numbers[swallowed], source, delimiter, log)
                table, numbers = table.filter(~swallowed), numbers[~swallowed]
            if rows.recovered:  # back among their neighbours, so "first seen at row" still means first in the file
                table, numbers = _in_file_order([(table, numbers), *rows.recovered])
                rows.recovered = []
            yield arrow_to_frame(table, source, numbers)
    finally:  # finished, failed or abandoned: the reader's thread must not wait for batches nobody takes
        paced.stop()
    if rows.recovered:
        yield arrow_to_frame(*_in_file_order(rows.recovered), source)
    if rows_seen == 0 and rows.records(0) == 0:
        log.add(source, "file has a header but no data rows")


def _arrow_options(names: list[str], delimiter: str, on_invalid_row, *, skip_rows: int = 0,
                   encoding: str = "utf8", block_size: int = BLOCK_BYTES) -> dict:
    # Single-threaded: only then does Arrow tell the invalid-row handler the row's number.
    return dict(
        read_options=pacsv.ReadOptions(use_threads=False, block_size=block_size, column_names=names,
                                       skip_rows=skip_rows, encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=True),
    )


class _RowNumbers:
    """Record numbers (1 = first data row) for one parse, across skipped rows and runaway quotes.

    Quoted values may hold line breaks, so a quote that is opened and never closed swallows the lines
    after it into one record, which then has the wrong number of fields. Such a record is split back
    into its physical lines: the first, where the quote opened, is reported; the others are parsed
    again as rows of their own (recursively, and only for these few lines), so every line of the
    file is either loaded or reported. Recovered rows take the record numbers they would have had.
    """

    def __init__(self, source: str, names: list[str], delimiter: str, log: IssueLog, *,
                 skipped_lines: int = 0, base: int = 0) -> None:
        self.source, self.names, self.delimiter, self.log = source, names, delimiter, log
        self.skipped_lines, self.base = skipped_lines, base  # header lines; record number before this parse
        self.skipped: list[int] = []  # Arrow's record numbers of skipped rows, in file order
        self.split_at: list[int] = []  # Arrow's record numbers of runaway records ...
        self.split_extra: list[int] = []  # ... and how many records their later lines held
        self.recovered: list[tuple[pa.Table, np.ndarray]] = []  # rows parsed again, with their record numbers

    def on_invalid_row(self, row) -> str:
        arrow_number = row.number - self.skipped_lines if row.number is not None else None
        number = None if arrow_number is None else self.base + arrow_number + sum(self.split_extra)
        first, _, rest = _split_first_line(row.text)
        self.skipped.append(arrow_number)
        if rest and arrow_number is not None:
            self.log.add(self.source, f"row has {row.actual_columns} fields, the header has {row.expected_columns}: "
                                      "a quote opened in this row is not closed on its line, so the lines after it "
                                      "ran into it; row skipped, the lines after it are read as rows of their own",
                         row_number=number, value=first[:MAX_VALUE_CHARS])
            self.split_at.append(arrow_number)
            self.split_extra.append(self._parse_again(rest, number))
        else:
            self.log.add(self.source, f"row has {row.actual_columns} fields, the header has {row.expected_columns} "
                                      f"(delimiter {self.delimiter!r}); row skipped",
                         row_number=number, value=row.text[:MAX_VALUE_CHARS])
        return "skip"

    def _parse_again(self, text_after: str, number: int) -> int:
        """Parse the lines a runaway quote swallowed; returns how many records they held."""
        inner = _RowNumbers(self.source, self.names, self.delimiter, self.log, base=number)
        data = text_after.encode("utf-8")
        table = pacsv.read_csv(io.BytesIO(data), **_arrow_options(self.names, self.delimiter, inner.on_invalid_row,
                                                                  block_size=max(len(data), 1) + 1))
        positions = np.arange(1, table.num_rows + 1, dtype=np.int64)
        if table.num_rows:
            self.recovered.append((table, inner.record_numbers(positions)))
        self.recovered += inner.recovered
        return inner.records(table.num_rows)

    def records(self, good_rows: int) -> int:
        """How many records this parse held, given how many rows it produced."""
        return good_rows + len(self.skipped) + sum(self.split_extra)

    def record_numbers(self, positions: np.ndarray) -> np.ndarray:
        """Record numbers of good rows, given their positions (1-based) among the good rows."""
        numbers = _record_ordinals(positions, self.skipped)
        if self.split_at:
            extra = np.concatenate([[0], np.cumsum(self.split_extra)])
            numbers = numbers + extra[np.searchsorted(np.asarray(self.split_at), numbers, side="left")]
        return numbers + self.base


def _swallowed_rows(table: pa.Table, delimiter: str) -> np.ndarray | None:
    """Rows holding a multi-line value whose later lines look like whole rows: a quote opened and never closed
    that happened to meet a later quote, so the lines between became one value of a row with the right
    number of fields. None when there are none (a byte scan per column; a regex only where it finds a break)."""
    fields = table.num_columns
    if fields < 2:
        return None
    broken = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        if not _has_line_breaks(column):
            continue
        multi_line = pc.fill_null(pc.match_substring_regex(column, "[\r\n]"), False)
        if not pc.any(multi_line).as_py():
            continue
        for index in np.flatnonzero(multi_line.to_numpy(zero_copy_only=False)):
            later_lines = column[int(index)].as_py().splitlines()[1:]
            broken[index] |= any(line.count(delimiter) >= fields - 1 for line in later_lines)
    return broken if broken.any() else None


def _has_line_breaks(column: pa.ChunkedArray) -> bool:
    for raw in column_bytes(column):
        if raw.min(initial=0xFF) < 0x20 and ((raw == 10) | (raw == 13)).any():  # no byte below 0x20: no break
            return True
    return False


def _report_swallowed(rows: pa.Table, numbers: np.ndarray, source: str, delimiter: str, log: IssueLog) -> None:
    for number, record in zip(numbers, rows.to_pylist()):
        text = delimiter.join("" if v is None else v for v in record.values())
        lines = text.splitlines()
        log.add(source, f"a quoted value in this row runs over {len(lines)} lines, and the lines after the first look "
                        "like rows of their own: most likely a quote opened in this row is not closed; row skipped "
                        "with the lines inside it (fix the quote and resend)",
                row_number=int(number), value=text[:MAX_VALUE_CHARS])


def _in_file_order(parts: list[tuple[pa.Table, np.ndarray]]) -> tuple[pa.Table, np.ndarray]:
    table = pa.concat_tables([t for t, _ in parts])
    numbers = np.concatenate([n for _, n in parts])
    order = np.argsort(numbers, kind="stable")
    return table.take(order), numbers[order]


def _split_first_line(row_text: str) -> tuple[str, str, str]:
    for index, char in enumerate(row_text):
        if char in "\r\n":
            end = index + 2 if row_text.startswith("\r\n", index) else index + 1
            return row_text[:index], row_text[index:end], row_text[end:]
    return row_text, "", ""


def _encoding(path: Path, options: ReadOptions, log: IssueLog) -> text.FileEncoding | None:
    encoding = text.choose_encoding(path, options.encoding)
    if encoding.problem:
        log.add(path.name, encoding.problem)
        return None
    if encoding.warning:
        log.warn(encoding.warning)
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
    return "utf8" if codecs.lookup(encoding).name == "utf-8" else encoding


def _reads_per_block(encoding: str) -> int:
    """How many reads of the file a block of UTF-8 text takes at most: the transcoder reads a block's size of
    the file at a time, and ASCII text is two bytes a character in UTF-16, four in UTF-32, one otherwise."""
    name = codecs.lookup(encoding).name
    return 4 if name.startswith("utf-32") else 2 if name.startswith("utf-16") else 1


def _rebatch(reader, paced: PacedStream, batch_rows: int, source: str, log: IssueLog,
             rows: _RowNumbers) -> Iterator[pa.Table]:
    """Regroup pyarrow's byte-sized blocks into tables of `batch_rows` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    pending_rows = read = 0
    while True:
        try:
            with paced.wanted():
                batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            # Past the checks above this is rare; keep what was read.
            reason = str(exc)
            if "straddl" in reason:  # one record longer than a block: a quote that never closes
                reason = (f"a quoted value runs on for more than {BLOCK_BYTES >> 20} MB, most likely a quote opened "
                          f"after row {rows.records(read)} and never closed")
            log.add(source, f"file could not be read to the end: {reason}; rows after this point were not read")
            break
        pending.append(batch)
        pending_rows += batch.num_rows
        read += batch.num_rows
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
