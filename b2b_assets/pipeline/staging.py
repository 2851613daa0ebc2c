"""The staging area: the validated rows of the latest export of each entity, as Parquet.

`erp/<entity>` writes it batch by batch and `hub/<entity>` streams it back, so
a million-row export is never held whole in memory, and the hub can be
reloaded from the UI without re-reading the export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame, empty_frame


# The staged file is written once and read once, on this machine: LZ4 and plain encoding halve the CPU of
# writing it (dictionary pages for a million distinct keys are built and then thrown away) and of reading it
# back, for a file about the size snappy with dictionaries makes. The columns and types are the same.
WRITE_OPTIONS = {"compression": "lz4", "use_dictionary": False}


@dataclass(frozen=True)
class StagedExport:
    entity: str
    source: str  # file name or API endpoint
    rows: int
    full_export: bool  # a complete list (file), as opposed to an incremental API pull
    cursor: str | None  # max updated_at of an API pull, committed once the hub has loaded it
    run_id: str


class StagingWriter:
    """Writes one run's export to a file of its own, and replaces the staged export only on commit.

    The partial file is named after the run, so two runs can never write the same file (the
    erp lock keeps them from staging one entity at the same time; this holds even without it).

    Parquet encoding and compression run on a thread of their own (Arrow releases the GIL), so
    a batch is written while the next one is validated; one batch at most is in flight, so
    memory holds two batches, not the file. A failed write is raised by the next call.
    """

    def __init__(self, directory: Path, entity_name: str, run_id: str):
        self.entity = entity(entity_name)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{entity_name}.parquet"
        self._partial = directory / f"{entity_name}.{run_id}.parquet.partial"
        empty = empty_frame(self.entity)
        self._dtypes = dict(empty.dtypes)
        self._schema = pa.Schema.from_pandas(empty, preserve_index=False)
        self._writer = pq.ParquetWriter(self._partial, self._schema, **WRITE_OPTIONS)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"staging-{entity_name}")
        self._pending: Future | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Append validated rows; a frame already in the model's columns and dtypes (what `prepare` hands on)
        is written as it is, anything else is cast first."""
        if not all(name in frame.columns and frame[name].dtype == dtype for name, dtype in self._dtypes.items()):
            frame = cast_frame(self.entity, frame)
        table = pa.Table.from_pandas(frame[list(self._dtypes)], schema=self._schema, preserve_index=False)
        self._wait()
        self._pending = self._thread.submit(self._writer.write_table, table)
        self.rows += len(frame)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _close(self) -> None:
        try:
            self._wait()
        finally:
            self._thread.shutdown()
            self._writer.close()

    def commit(self, export: StagedExport) -> None:
        """Replace the previous staging only once the whole export was read (and written)."""
        try:
            self._close()
        except BaseException:
            self._partial.unlink(missing_ok=True)
            raise
        self._partial.replace(self.path)
        sidecar = self._partial.with_suffix(".json")
        sidecar.write_text(json.dumps(asdict(export)))
        sidecar.replace(self.path.with_suffix(".json"))

    def abort(self) -> None:
        """Drop the partial file; a write still in flight is waited for, and its own failure is moot."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()
        self._thread.shutdown()
        self._writer.close()
        self._partial.unlink(missing_ok=True)


def staged_export(directory: Path, entity_name: str) -> StagedExport | None:
    sidecar = directory / f"{entity_name}.json"
    if not sidecar.exists():
        return None
    return StagedExport(**json.loads(sidecar.read_text()))


def read_staged(directory: Path, entity_name: str, batch_size: int = 100_000) -> Iterator[pd.DataFrame]:
    path = directory / f"{entity_name}.parquet"
    if not path.exists():
        return
    model = entity(entity_name)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        yield cast_frame(model, batch.to_pandas(types_mapper=pd.ArrowDtype))


def read_staged_keys(directory: Path, export: StagedExport) -> pd.DataFrame | None:
    """The key columns of every staged row of `export`, or None when the staging holds another export now."""
    if staged_export(directory, export.entity) != export:
        return None
    keys = list(entity(export.entity).key)
    return pq.read_table(directory / f"{export.entity}.parquet", columns=keys).to_pandas(types_mapper=pd.ArrowDtype)
