"""A file stream that Arrow's streaming CSV reader may read only a few blocks ahead of the batches taken from it.

`pyarrow.csv.open_csv` reads its input on an IO thread of its own, up to 32 blocks ahead of the batches
the caller has taken (Arrow's background generator; the reader has no option for it). With the 16 MB
blocks it had then and a caller that validates slower than the disk reads, that held most of a file up
to 512 MB as raw bytes, so the read stage's memory grew with the file (at 1M products, 156 MB of it).

Arrow hands on one batch per block, once it holds the block after it, so the stream lets the thread
read `lead_blocks` blocks past the batches taken, and no further. A transcoded file (UTF-16, UTF-32)
is read in several pieces per block, `reads_per_block`. Should a batch ever need more than that, it
cannot wait on itself: once the caller has waited `STALL_SECONDS` for it, the next read goes ahead.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

LEAD_BLOCKS = 3  # the block being parsed, the one after it that Arrow waits for, and one read while it parses
STALL_SECONDS = 1.0


class PacedStream(io.RawIOBase):
    def __init__(self, raw: BinaryIO, reads_per_block: int = 1, lead_blocks: int = LEAD_BLOCKS) -> None:
        super().__init__()
        self._raw, self._reads_per_block, self._lead_blocks = raw, reads_per_block, lead_blocks
        self._changed = threading.Condition()
        self._reads = self._taken = 0  # reads of the raw stream; batches the caller has taken
        self._waiting = False  # the caller is waiting for a batch
        self._stopped = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        with self._changed:
            while not self._stopped and self._reads >= (self._taken + self._lead_blocks) * self._reads_per_block:
                if not self._changed.wait(STALL_SECONDS) and self._waiting:
                    break  # the batch the caller waits for needs more than the lead
            if self._stopped:
                return b""  # the caller has gone: the reader's thread ends at this "end of file"
            self._reads += 1
        return self._raw.read(size)

    @contextmanager
    def wanted(self) -> Iterator[None]:
        """Around `read_next_batch` (or opening the reader): the caller waits meanwhile, and has a batch after it."""
        self._update(waiting=True)
        try:
            yield
        finally:
            self._update(waiting=False, taken=1)

    def stop(self) -> None:
        """No more batches will be taken: a read waiting for the caller ends instead of blocking the thread."""
        self._update(stopped=True)

    def _update(self, *, waiting: bool | None = None, taken: int = 0, stopped: bool = False) -> None:
        with self._changed:
            self._waiting = self._waiting if waiting is None else waiting
            self._taken += taken
            self._stopped |= stopped
            self._changed.notify_all()
