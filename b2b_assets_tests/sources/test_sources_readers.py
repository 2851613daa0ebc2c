"""Reader mechanics: batching, row numbers across batches and skipped rows, JSON streaming."""

from __future__ import annotations

import json
import time

import pandas as pd
import pyarrow.csv as pacsv

from b2b_assets.sources import IssueLog, ReadOptions, read_batches
from b2b_assets.sources.readers import json_reader
from b2b_assets.sources.readers.paced_stream import LEAD_BLOCKS, PacedStream


def test_csv_batches_keep_row_numbers_across_skipped_rows(write):
    lines = ["a,b"] + [f"{i},x" if i % 4 else f"{i},x,extra" for i in range(1, 12)]
    path = write("f.csv", "\n".join(lines) + "\n")
    log = IssueLog()
    batches = list(read_batches(path, ReadOptions(batch_rows=3), log))
    assert [len(b) for b in batches] == [3, 3, 3]
    frame = pd.concat(batches, ignore_index=True)
    assert frame["_row"].tolist() == [int(a) for a in frame["a"]]  # row number == the value we wrote
    assert log.take()["row_number"].tolist() == [4, 8]
    assert all(str(dtype) in ("string", "int64[pyarrow]") for dtype in frame.dtypes)


def test_values_stay_text(write):
    path = write("f.csv", "code,country,qty\n0012,NA,1.50\n")
    frame = next(read_batches(path))
    assert frame.loc[0, ["code", "country", "qty"]].tolist() == ["0012", "NA", "1.50"]  # no inference, "NA" is Namibia


def test_json_array_streams_across_chunk_edges(write, monkeypatch):
    monkeypatch.setattr(json_reader, "CHUNK_CHARS", 7)  # every element and number straddles a chunk edge
    records = [{"id": f"K{i}", "n": 123456789 + i, "nested": [1, {"x": "y"}]} for i in range(25)]
    path = write("f.json", json.dumps(records, indent=1))
    frame = pd.concat(read_batches(path, ReadOptions(batch_rows=10)), ignore_index=True)
    assert frame["id"].tolist() == [r["id"] for r in records]
    assert frame["n"].tolist() == [str(r["n"]) for r in records]
    assert frame["nested"].iloc[0] == '[1,{"x":"y"}]' and frame["_row"].tolist() == list(range(1, 26))


def test_truncated_json_keeps_what_was_read(write):
    log = IssueLog()
    frame = pd.concat(read_batches(write("f.json", '[{"id": "a"}, {"id": "b"}, {"id": '), None, log))
    assert frame["id"].tolist() == ["a", "b"]
    assert "JSON is malformed after element 2" in log.take()["reason"].iloc[0]


def test_duplicate_header_names_are_kept_apart(write):
    log = IssueLog()
    frame = next(read_batches(write("f.csv", "a,b,a\n1,2,3\n"), None, log))
    assert list(frame.columns[:3]) == ["a", "b", "a.2"] and "repeats column(s) a" in log.warnings[0]


def _long_csv(rows: int) -> str:
    return "code,name\n" + "".join(f"K{i:07d},product number {i} with a longer name\n" for i in range(1, rows + 1))


def test_a_slow_caller_holds_a_few_blocks_of_a_long_file_not_the_file(tmp_path):
    """Arrow would read up to 32 blocks ahead of the batches taken; paced, the file is read a few blocks ahead."""
    path = tmp_path / "long.csv"
    path.write_text(_long_csv(200_000))  # 10 MB: 40 blocks of 256 KB
    block = 256 << 10
    with path.open("rb") as raw:
        paced = PacedStream(raw)
        with paced.wanted():
            reader = pacsv.open_csv(paced, read_options=pacsv.ReadOptions(block_size=block, use_threads=False))
        with paced.wanted():
            reader.read_next_batch()
        time.sleep(0.5)  # while the caller validates its batch, Arrow's thread reads what it may
        assert raw.tell() <= (2 + LEAD_BLOCKS) * block
        paced.stop()


def test_long_files_are_read_whole_in_utf8_and_utf16_and_a_reader_left_early_ends(tmp_path):
    text = _long_csv(120_000)  # 6 MB: two 4 MB blocks in UTF-8, three in UTF-16
    for encoding, data in (("utf-8", text.encode()), ("utf-16", text.encode("utf-16"))):
        path = tmp_path / f"long-{encoding}.csv"
        path.write_bytes(data)
        frame = pd.concat(read_batches(path, ReadOptions(batch_rows=25_000)), ignore_index=True)
        assert frame["_row"].tolist() == list(range(1, 120_001))
        assert frame["code"].iloc[-1] == "K0120000"
        batches = read_batches(path, ReadOptions(batch_rows=1_000))
        assert len(next(batches)) == 1_000
        batches.close()  # as the preview does: the reader's thread stops instead of waiting to hand on more
