"""One Customer Sync file written from the parts of a run's batch, never holding the whole file's rows.

The file's numbered columns (`buyer_name_1` .. `buyer_name_n`) are as wide as the most entries any
customer of the file has, so no line can be written before every part has been seen: each part is laid
out as the file's rows (`file_rows`) and spilled to a temporary Arrow file as it comes, then the parts
are encoded in order, with the whole file's widths, into `sink`. What is held at a time is one part's
rows and one slice of their lines; the bytes are those `encode` writes for all the rows at once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from b2b_assets.targets.core.contract import Batch
from b2b_assets.targets.joor.customer_file import (
    check_delimiter, encoded_lines, file_columns, file_rows, header_line, numbered_widths,
)
from b2b_assets.targets.joor.file_fields import REPEATED


def write_file(batches: Iterable[Batch], sink: BinaryIO, delimiter: str) -> None:
    """The batches' customers, in order, as one Customer Sync file (header and rows) written to `sink`."""
    check_delimiter(delimiter)
    with tempfile.TemporaryDirectory(prefix="b2b-joor-file-") as directory:
        spilled: list[Path] = []
        widths = {repeated.node: 1 for repeated in REPEATED}  # at least `_1`, as file_rows writes them
        for batch in batches:
            rows = file_rows(batch.payload, batch.records)
            widths = {node: max(width, widths[node]) for node, width in numbered_widths(rows).items()}
            spilled.append(Path(directory) / f"{len(spilled):06d}.arrow")
            rows.to_feather(spilled[-1])
            del rows
        columns = file_columns(widths)
        sink.write(header_line(columns, delimiter))
        for path in spilled:
            rows = pd.read_feather(path).reindex(columns=columns)  # a part's missing numbered columns: empty
            for lines in encoded_lines(rows, columns, delimiter):
                sink.write(lines)
