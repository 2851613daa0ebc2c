"""The mapping's transforms, compiled to DuckDB SQL over the rows the project's readers produced.

Files are still read by `sources/readers` (sniffed delimiters, encodings,
malformed lines quarantined with their row numbers); their Arrow batches are
handed to DuckDB, which runs every declarative feature as one chain of views:

    source (files unioned, or inline rows)  ->  query (optional, replaces source)
      -> lookup (left joins)  ->  filter  ->  unpivot  ->  expr columns  ->  dedupe

and the result is read back as Arrow record batches of strings, so mapping
and validation downstream do not know a transform ran. `_source`/`_row` ride
through every stage, so a bad row is still reported at its file row.

What is held in memory: a single CSV with only a `filter` and `expr` columns
is streamed (DuckDB scans the reader's batches once, as an Arrow stream).
Any other transformed source holds its input files in memory as Arrow (DuckDB
itself spills its joins and sorts to disk). The result is always streamed
back batch by batch. Sources without transforms never come here; they stream.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.frames import TEXT_DTYPE
from b2b_assets.sources.issues import IssueLog
from b2b_assets.sources.mapping import EXTENSION_FORMATS, EntitySource, MappingError, computed_column
from b2b_assets.sources.readers import read_batches
from b2b_assets.sources.readers.frames import ROW_COLUMN, ROW_DTYPE, SOURCE_COLUMN, records_to_frame

DECIMALS_KEPT = 6  # computed doubles are rounded to this many places: 1431.5 * 0.9 is 1288.35, not 1288.3500000000001

# Small helpers for what exports actually send; everything else is plain DuckDB SQL.
MACROS = (
    # A number from text: surrounding spaces, a trailing % and thousands commas allowed; NULL when not a number.
    "CREATE MACRO num(x) AS TRY_CAST(replace(replace(trim(CAST(x AS VARCHAR)), '%', ''), ',', '') AS DOUBLE)",
    # A percentage ("15" or "15%") as a fraction (0.15).
    "CREATE MACRO from_percent(x) AS num(x) / 100",
    # A fraction ("0.15") as a fraction; a value written with a % sign is read as a percentage.
    "CREATE MACRO from_fraction(x) AS CASE WHEN contains(CAST(x AS VARCHAR), '%') THEN num(x) / 100 ELSE num(x) END",
    # A date or time in a declared strptime format, as ISO-8601; text that does not parse is kept for validation to report.
    "CREATE MACRO parse_date(x, fmt) AS coalesce(strftime(try_strptime(trim(x), fmt), '%Y-%m-%dT%H:%M:%S'), x)",
)


class TransformError(MappingError):
    """A transform does not compile or run; `entry` is the mapping entry to blame."""

    def __init__(self, entry: str, message: str) -> None:
        self.entry = entry
        self.message = message
        super().__init__(f"{entry}: {message}")


@dataclass
class TransformRun:
    """One source's rows after its transforms, and what the transforms left out (counted, reported)."""

    source: EntitySource
    log: IssueLog
    limit: int | None = None
    rows_skipped: int = 0  # by filter or dedupe: each counted once, never silently gone
    warnings: list[str] = field(default_factory=list)

    def frames(self) -> Iterator[pd.DataFrame]:
        source = self.source
        if not source.transformed:  # inline rows with nothing to transform
            yield _inline_frame(source)
            return
        con = duckdb.connect()
        try:
            for macro in MACROS:
                con.execute(macro)
            stream = self._register_inputs(con)
            final = self._compile(con, counts=stream is None)
            if stream is not None:  # compiled against an empty table of the same shape; now the real rows
                con.register("source", stream.reader())
            sql = f'SELECT * FROM {final}' + (f" LIMIT {int(self.limit)}" if self.limit is not None else "")
            produced = 0
            try:
                for batch in con.sql(sql).to_arrow_reader(source.read.batch_rows):
                    produced += batch.num_rows
                    yield _as_strings(batch)
            except duckdb.Error as exc:
                raise TransformError(f"sources.{source.entity}", _short(exc)) from None
            if stream is not None and self.limit is None:
                self._note_filtered(stream.rows - produced)
        finally:
            con.close()

    def _register_inputs(self, con: duckdb.DuckDBPyConnection) -> _Stream | None:
        """Register every input; a single CSV with only a filter and expressions is streamed (returned)."""
        source = self.source
        if _streamable(source):
            stream = _Stream(read_batches(source.file, source.read, self.log))
            con.register("source", stream.empty())
            return stream
        if source.rows:
            main = pa.Table.from_pandas(_inline_frame(source), preserve_index=False)
        else:
            main = _concat([self._read(path) for path in source.files])
        con.register("source", main)
        for name, path in source.tables.items():
            con.register(name, self._read(path))
        for lookup in source.lookups:
            con.register(lookup.name, self._read(lookup.file))
        return None

    def _note_filtered(self, skipped: int) -> None:
        if skipped:
            self.rows_skipped += skipped * max(len(self.source.unpivot), 1)  # one per row it would have become
            self.warnings.append(f"sources.{self.source.entity}.filter: {skipped} row(s) skipped by "
                                 f"`{self.source.filter}`")

    def _read(self, path: Path) -> pa.Table:
        options = self.source.read
        fmt = EXTENSION_FORMATS.get(path.suffix.lower())
        if fmt and path != self.source.file:  # a union or lookup file may be of another format than the first
            options = replace(options, format=fmt)
        frames = [pa.Table.from_pandas(f, preserve_index=False) for f in read_batches(path, options, self.log)]
        return _concat(frames)

    def _compile(self, con: duckdb.DuckDBPyConnection, counts: bool = True) -> str:
        """One view per stage, each bound on creation, so an error names the mapping entry that caused it.

        `counts=False` for a streamed source: it can be scanned once only, so filtered rows are counted after.
        """
        source, entry = self.source, f"sources.{self.source.entity}"
        view = "source"
        if source.query:
            view = _view(con, "queried", _with_bookkeeping(con, source.query, f"{entry}.query"), f"{entry}.query")
        for lookup in source.lookups:
            keys = ", ".join(_q(c) for c in lookup.on.values())
            first = f"SELECT * FROM {_q(lookup.name)} QUALIFY row_number() OVER (PARTITION BY {keys}) = 1"
            condition = " AND ".join(f"s.{_q(mine)} = l.{_q(theirs)}" for mine, theirs in lookup.on.items())
            taken = ", ".join(f"l.{_q(col)} AS {_q(new)}" for new, col in lookup.take.items())
            view = _view(con, f"lookup_{lookup.name}",
                         f"SELECT s.*, {taken} FROM {view} s LEFT JOIN ({first}) l ON {condition}",
                         f"{entry}.lookup.{lookup.name}")
        if source.filter:
            rows_in = _count(con, view) if counts else 0
            view = _view(con, "filtered", f"SELECT * FROM {view} WHERE ({source.filter})", f"{entry}.filter")
            if counts:
                self._note_filtered(rows_in - _count(con, view))
        if source.unpivot:
            view = self._unpivot(con, view, entry)
        computed = {name: spec.expr for name, spec in source.columns.items() if spec.expr}
        for name, expr in computed.items():  # one by one first, so an error names its column
            _compiles(con, f"SELECT {expr} FROM {view}", f"{entry}.columns.{name}")
        if computed:
            exprs = ", ".join(f"({expr}) AS {_q(computed_column(name))}" for name, expr in computed.items())
            view = _view(con, "computed", f"SELECT *, {exprs} FROM {view}", f"{entry}.columns")
        if source.dedupe:
            view = self._dedupe(con, view, entry)
        return view

    def _unpivot(self, con: duckdb.DuckDBPyConnection, view: str, entry: str) -> str:
        parts = []
        for group, exprs in self.source.unpivot.items():
            for name, expr in exprs.items():
                _compiles(con, f"SELECT {expr} FROM {view}", f"{entry}.unpivot.{group}.{name}")
            columns = ", ".join(f"({expr}) AS {_q(computed_column(name))}" for name, expr in exprs.items())
            label = _literal(f" ({group})")
            parts.append(f"SELECT * EXCLUDE ({SOURCE_COLUMN}), {SOURCE_COLUMN} || {label} AS {SOURCE_COLUMN}, "
                         f"{columns} FROM {view}")
        return _view(con, "unpivoted", " UNION ALL BY NAME ".join(parts), f"{entry}.unpivot")

    def _dedupe(self, con: duckdb.DuckDBPyConnection, view: str, entry: str) -> str:
        dedupe = self.source.dedupe
        by = ", ".join(dedupe.by)
        window = f"PARTITION BY {by} ORDER BY {dedupe.keep}"
        ranked = _view(con, "ranked", f"SELECT *, row_number() OVER ({window}) AS __rank, "
                                      f"first_value({ROW_COLUMN}) OVER ({window}) AS __kept_row FROM {view}",
                       f"{entry}.dedupe")
        skipped, examples = con.execute(
            f"SELECT count(*), list({ROW_COLUMN} || ' (kept row ' || __kept_row || ')' ORDER BY {ROW_COLUMN})[1:3] "
            f"FROM {ranked} WHERE __rank > 1").fetchall()[0]
        if skipped:
            self.rows_skipped += skipped
            self.warnings.append(f"{entry}.dedupe: {skipped} row(s) skipped, keeping per {by} the first by "
                                 f"{dedupe.keep}; e.g. row {', row '.join(examples)}")
        return _view(con, "deduped", f"SELECT * EXCLUDE (__rank, __kept_row) FROM {ranked} WHERE __rank = 1",
                     f"{entry}.dedupe")


def _streamable(source: EntitySource) -> bool:
    """One CSV (its batches share the header's columns) through stages that need a single pass."""
    return (len(source.files) == 1 and not source.rows and (source.read.format or "csv") == "csv"
            and not (source.query or source.lookups or source.unpivot or source.dedupe))


class _Stream:
    """The reader's batches as one Arrow stream DuckDB scans once, counting the rows it hands over."""

    def __init__(self, frames: Iterator[pd.DataFrame]) -> None:
        self._frames = frames
        self._first = next(frames, None)
        first = self._first if self._first is not None else pd.DataFrame(
            {SOURCE_COLUMN: pd.Series([], dtype=TEXT_DTYPE), ROW_COLUMN: pd.array([], dtype=ROW_DTYPE)})
        self.schema = pa.Schema.from_pandas(first, preserve_index=False)
        self.rows = 0

    def empty(self) -> pa.Table:
        return self.schema.empty_table()

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if self._first is None:
            return
        for frame in itertools.chain([self._first], self._frames):
            self.rows += len(frame)
            yield from pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False).to_batches()


def _with_bookkeeping(con: duckdb.DuckDBPyConnection, query: str, entry: str) -> str:
    """A query that dropped `_source`/`_row` gets them back: rows are then reported as `query` row N."""
    names = [c[0] for c in _compiles(con, f"SELECT * FROM ({query})", entry)]
    extra = []
    if SOURCE_COLUMN not in names:
        extra.append(f"'query' AS {SOURCE_COLUMN}")
    if ROW_COLUMN not in names:
        extra.append(f"row_number() OVER () AS {ROW_COLUMN}")
    return f"SELECT *{''.join(', ' + e for e in extra)} FROM ({query})"


def _view(con: duckdb.DuckDBPyConnection, name: str, sql: str, entry: str) -> str:
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
    except duckdb.Error as exc:
        raise TransformError(entry, _short(exc)) from None
    return name


def _compiles(con: duckdb.DuckDBPyConnection, sql: str, entry: str):
    try:
        cursor = con.execute(f"{sql} LIMIT 0")
        cursor.fetchall()  # finish the result, or the connection refuses the next statement
        return cursor.description
    except duckdb.Error as exc:
        raise TransformError(entry, _short(exc)) from None


def _count(con: duckdb.DuckDBPyConnection, view: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])


def _short(exc: duckdb.Error) -> str:
    """DuckDB's message without the caret drawing: one line a user can act on."""
    return str(exc).split("\n\nLINE")[0].replace("\n", " ").strip()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _concat(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({SOURCE_COLUMN: pa.array([], pa.string()), ROW_COLUMN: pa.array([], pa.int64())})
    return pa.concat_tables(tables, promote_options="permissive")


def _inline_frame(source: EntitySource) -> pd.DataFrame:
    """Inline rows, reported at their line in the mapping file."""
    return records_to_frame([dict(r) for r in source.rows], list(source.row_lines), Path(source.origin).name)


def _as_strings(batch: pa.RecordBatch) -> pd.DataFrame:
    """What the readers hand on: every column text (NA when null), `_row` an integer."""
    columns = {}
    for name, column in zip(batch.schema.names, batch.columns):
        if name == ROW_COLUMN:
            columns[name] = pd.array(pc.cast(column, pa.int64()), dtype=ROW_DTYPE)
            continue
        if pa.types.is_floating(column.type):
            column = pc.round(column, DECIMALS_KEPT)
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        columns[name] = pd.array(column, dtype=TEXT_DTYPE)
    return pd.DataFrame(columns)
