"""Reader mechanics: batching, row numbers across batches and skipped rows, JSON streaming."""

from __future__ import annotations

import json

import pandas as pd

from b2b_assets.sources import IssueLog, ReadOptions, read_batches
from b2b_assets.sources.readers import json_reader


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
