"""An object's payload in parts, in record order: held in memory, or spilled to Arrow IPC files until sent.

A first sync planned a key range at a time keeps every record it will send:
holding them all would make a run's memory grow with the entity (5M prices,
2 GB). Instead each range's kept records (and their nested rows) are written
to a temporary Arrow file as the range is planned, and `sync_entity` reads
them back a part at a time while it sends; only the record keys stay in
memory, for the plan's checks. Parts are gathered to about `part_rows`
records or nested rows each, so a run of small ranges (a 1 % change) still
sends full batches, and a part of a few records with many nested rows (a
site with its stock) stays small.

The files live in a temporary directory removed by `close()` (PayloadParts is
a context manager). Columns come back with the dtypes they were written
with; an object column (lists of keys) comes back as Python lists, as mapped.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from b2b_assets.targets.core.contract import RECORD_KEY, Payload

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")  # a few percent of CPU for half the disk


class PayloadParts:
    """The parts of one object's payload, in order; `keys()` are all their record keys, in the same order."""

    def __init__(self, template: Payload, parts: list[Payload] | None = None, *, directory: Path | None = None,
                 part_rows: int = 0) -> None:
        self.template = template  # no records: the payload's class, columns and object-wide fields
        self._memory = parts or []
        self._directory, self._part_rows = directory, part_rows
        self._files: list[tuple[Path, Path | None]] = []
        self._pending: list[Payload] = []  # appended, not yet written (fewer than part_rows rows)
        self._keys: list[pd.Series] = []
        self._dtypes: tuple[pd.Series, pd.Series | None] | None = None

    @classmethod
    def in_memory(cls, payload: Payload) -> PayloadParts:
        """One part: the whole payload, as mapped."""
        parts = cls(_empty_like(payload), [payload])
        parts._keys = [payload.records[RECORD_KEY]]
        return parts

    @classmethod
    def spilling(cls, part_rows: int) -> PayloadParts:
        """Empty; `append` writes to a temporary directory parts of about `part_rows` records or nested rows."""
        return cls(Payload(pd.DataFrame({RECORD_KEY: pd.Series([], dtype="string")})),
                   directory=Path(tempfile.mkdtemp(prefix="b2b-payload-")), part_rows=max(1, part_rows))

    def append(self, payload: Payload) -> None:
        """Add `payload`'s records after those appended before (spilling parts only)."""
        if self._directory is None:
            raise TypeError("an in-memory PayloadParts holds one payload; it takes no more")
        self.template = _empty_like(payload)
        if payload.records.empty:
            return
        self._keys.append(payload.records[RECORD_KEY].reset_index(drop=True))
        self._pending.append(payload)
        if _rows(self._pending) >= self._part_rows:
            self._write(self._gathered(self._pending))
            self._pending = []

    def keys(self) -> pd.Series:
        """Every record key, in part order."""
        if len(self._keys) > 1:
            self._keys = [pd.concat(self._keys, ignore_index=True)]  # one copy of them, not two
        return self._keys[0] if self._keys else self.template.records[RECORD_KEY].reset_index(drop=True)

    def __len__(self) -> int:
        return sum(len(k) for k in self._keys)

    def __iter__(self) -> Iterator[Payload]:
        """The parts, in order, each read back (a spilled part) when it is reached."""
        yield from self._memory
        for records_path, children_path in self._files:
            yield self._read(records_path, children_path)
        if self._pending:
            yield self._gathered(self._pending)

    def whole(self) -> Payload:
        """All parts as one payload (for a batch that must carry everything: a COMPLETE upload, a file)."""
        parts = list(self)
        return parts[0] if len(parts) == 1 else self._gathered(parts) if parts else self.template

    def close(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._files, self._pending = [], []

    def __enter__(self) -> PayloadParts:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _gathered(self, parts: list[Payload]) -> Payload:
        children = None if parts[-1].children is None else pd.concat([p.children for p in parts], ignore_index=True)
        records = pd.concat([p.records for p in parts], ignore_index=True)
        return dataclasses.replace(self.template, records=records, children=children)

    def _write(self, part: Payload) -> None:
        if self._dtypes is None:
            self._dtypes = (part.records.dtypes, None if part.children is None else part.children.dtypes)
        number = len(self._files)
        records_path = _write_frame(part.records, self._directory / f"{number:06d}.records.arrow")
        children_path = (None if part.children is None
                         else _write_frame(part.children, self._directory / f"{number:06d}.children.arrow"))
        self._files.append((records_path, children_path))

    def _read(self, records_path: Path, children_path: Path | None) -> Payload:
        record_dtypes, child_dtypes = self._dtypes
        children = None if children_path is None else _read_frame(children_path, child_dtypes)
        return dataclasses.replace(self.template, records=_read_frame(records_path, record_dtypes), children=children)


def _empty_like(payload: Payload) -> Payload:
    children = None if payload.children is None else payload.children.iloc[:0]
    return dataclasses.replace(payload, records=payload.records.iloc[:0], children=children)


def _rows(parts: list[Payload]) -> int:
    """Records or nested rows, whichever are more: what a part costs to hold and to send."""
    records = sum(len(p.records) for p in parts)
    nested = sum(0 if p.children is None else len(p.children) for p in parts)
    return max(records, nested)


def _write_frame(frame: pd.DataFrame, path: Path) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=_IPC) as writer:
        writer.write_table(table)
    return path


def _read_frame(path: Path, dtypes: pd.Series) -> pd.DataFrame:
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    return pd.DataFrame({name: _column(table.column(name), dtype) for name, dtype in dtypes.items()})


def _column(column: pa.ChunkedArray, dtype) -> pd.Series:  # noqa: ANN001 - a numpy or extension dtype
    """An Arrow column back in the pandas dtype it was written from."""
    if dtype == object:
        return pd.Series(column.to_pylist(), dtype=object)  # lists stay lists, nulls None: as mapped
    if hasattr(dtype, "__from_arrow__"):
        return pd.Series(dtype.__from_arrow__(column))
    return pd.Series(column.to_numpy(), dtype=dtype)
