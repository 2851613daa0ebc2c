"""Reading ahead: a file's next batch is parsed on a thread of its own while the current one is prepared.

Arrow parses CSV and builds the frames without holding the GIL for long, so on
two cores the parse of batch k+1 overlaps the validation of batch k. The reader
on the thread writes its issues and warnings to a log of its own, and each
frame arrives with what the reader logged while producing it: the caller's log
holds, when a frame is handed on, exactly what a reader run in line would have
logged by then, so issues still travel with the batch they belong to. One frame
waits at most, so memory holds two batches beyond the one being prepared.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from b2b_assets.sources.issues import IssueLog

_POLL_SECONDS = 0.1  # how soon a reader that was told to stop notices it while its frame waits


@dataclass
class _Handoff:
    frame: pd.DataFrame | None  # None: the reader has finished (or failed)
    issues: pd.DataFrame
    warnings: list[str]
    error: BaseException | None = None


def read_ahead(read: Callable[[IssueLog], Iterator[pd.DataFrame]], log: IssueLog, name: str) -> Iterator[pd.DataFrame]:
    """The frames of `read(log)`, produced one ahead on a thread; its issues and warnings reach `log` as in line."""
    handoffs: queue.Queue[_Handoff] = queue.Queue(maxsize=1)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(read, handoffs, stop), name=f"read-{name}", daemon=True)
    thread.start()
    try:
        while True:
            handoff = handoffs.get()
            log.extend(handoff.issues)
            log.warnings.extend(handoff.warnings)  # logged already, on the reader's thread
            if handoff.error is not None:
                raise handoff.error
            if handoff.frame is None:
                return
            yield handoff.frame
    finally:  # finished, failed, or the caller stopped early (a preview): the reader closes its file
        stop.set()
        thread.join()


def _produce(read: Callable[[IssueLog], Iterator[pd.DataFrame]], handoffs: queue.Queue, stop: threading.Event) -> None:
    own = IssueLog()
    frames = read(own)
    try:
        for frame in frames:
            if not _hand_on(handoffs, stop, _taken(own, frame)):
                return
        _hand_on(handoffs, stop, _taken(own, None))
    except BaseException as exc:  # raised again by the caller, where it would have been raised in line
        _hand_on(handoffs, stop, _taken(own, None, exc))
    finally:
        frames.close()


def _taken(own: IssueLog, frame: pd.DataFrame | None, error: BaseException | None = None) -> _Handoff:
    warnings, own.warnings = own.warnings, []
    return _Handoff(frame, own.take(), warnings, error)


def _hand_on(handoffs: queue.Queue, stop: threading.Event, handoff: _Handoff) -> bool:
    while not stop.is_set():
        try:
            handoffs.put(handoff, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
