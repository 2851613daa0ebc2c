"""The CLI's progress bars: one per outbound asset while it sends, drawn by tqdm on a terminal.

The assets report each confirmed batch on the `b2b_assets.progress` logger (defs/targets/progress.py);
`b2b-sync sync` runs the job in its own process, so a logging handler here sees every batch as it
lands. The bars go to a duplicate of the terminal's file descriptor taken before the run: while a
step runs, Dagster points stderr at the step's captured log. When stderr is not a terminal (CI, a
pipe, the tests), tqdm draws nothing.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

from b2b_assets.defs.targets.progress import PROGRESS, PROGRESS_LOGGER


class ProgressBars(logging.Handler):
    """Turns progress records into a bar per asset; `enabled=None` means: only on a terminal."""

    def __init__(self, file: TextIO | None = None, enabled: bool | None = None) -> None:
        super().__init__(logging.INFO)
        self.file, self.disable = file or sys.stderr, None if enabled is None else not enabled
        self.bar: tqdm | None = None
        self.asset: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._draw(*getattr(record, PROGRESS, (None, 0, 0)))
        except Exception:  # noqa: BLE001 - a bar that cannot be drawn must never fail the sync
            self.handleError(record)

    def _draw(self, asset: str | None, done: int, total: int) -> None:
        if asset is None:
            return
        if self.bar is None or self.asset != asset:
            self.close_bar()
            self.asset = asset
            self.bar = tqdm(total=total, desc=asset, unit=" records", file=self.file, disable=self.disable,
                            dynamic_ncols=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close_bar()

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = self.asset = None


def _terminal() -> TextIO | None:
    """The console's stderr as it is now, on a file descriptor of its own; None if stderr has none."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding=sys.stderr.encoding)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


@contextmanager
def progress_bars(file: TextIO | None = None, enabled: bool | None = None) -> Iterator[ProgressBars]:
    terminal = None if file is not None else _terminal()
    bars, level = ProgressBars(file or terminal, enabled), PROGRESS_LOGGER.level
    PROGRESS_LOGGER.addHandler(bars)
    PROGRESS_LOGGER.setLevel(logging.INFO)
    try:
        yield bars
    finally:
        PROGRESS_LOGGER.removeHandler(bars)
        PROGRESS_LOGGER.setLevel(level)
        bars.close_bar()
        if terminal is not None:
            terminal.close()
