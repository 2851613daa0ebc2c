"""Readers: export files in, frames of strings out (plus `_source`, `_row`), problems as issues.

Every reader streams: it yields frames of at most `batch_rows` rows and never
holds the whole file. Every value is a pyarrow-backed string (NA when empty),
so no reader decides what a column means; mapping and validation do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from b2b_assets.sources.issues import IssueLog
from b2b_assets.sources.mapping import EXTENSION_FORMATS, ReadOptions
from b2b_assets.sources.readers.csv_reader import read_csv_batches
from b2b_assets.sources.readers.frames import ROW_COLUMN, SOURCE_COLUMN, records_to_frame
from b2b_assets.sources.readers.json_reader import read_json_batches, read_jsonl_batches
from b2b_assets.sources.readers.read_ahead import read_ahead

__all__ = ["ROW_COLUMN", "SOURCE_COLUMN", "read_batches", "records_to_frame"]

_READERS = {"csv": read_csv_batches, "json": read_json_batches, "jsonl": read_jsonl_batches}


def read_batches(path: str | Path, options: ReadOptions | None = None, issues: IssueLog | None = None
                 ) -> Iterator[pd.DataFrame]:
    """Yield the file's records as frames of strings; problems go to `issues` (a fresh log if None).

    A missing file is a file-level issue, not an exception: the run goes on with the other sources.
    The next batch is read while the caller works on this one (see `read_ahead`).
    """
    path = Path(path)
    options = options or ReadOptions()
    fmt = options.format or EXTENSION_FORMATS.get(path.suffix.lower(), "csv")
    log = issues if issues is not None else IssueLog()
    if not path.is_file():
        log.add(path.name, f"file not found: {path}")
        return
    yield from read_ahead(lambda own_log: _READERS[fmt](path, options, own_log), log, path.name)
