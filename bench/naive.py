"""The naive script: what a first hand-written sync does, for bench/run.py to compare against.

    python -m bench.naive --inbox bench/out/inbox --squizz http://127.0.0.1:18080/squizz

pandas `read_csv`, `to_dict('records')`, one dict per ESD record (sell units
nested in their product), and every record POSTed every run in documents of
`BATCH`, each `json.dumps`-ed and gzipped as it goes: no hub, no ledger, no
checks. The same SQUIZZ objects, field names and envelope as the floor
(bench/floor.py), so the sandbox takes the same documents. Stages per object,
as JSON lines: read, build (the dicts), send (encode and POST).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

from bench.floor import BATCH, GZIP_LEVEL, OBJECTS, Squizz, SquizzObject, timed


def _value(obj: SquizzObject, esd: str, text: str):
    if esd in obj.numbers:
        return float(text)
    if esd in obj.flags:
        return "Y" if text == "true" else "N"
    return text


def dicts(obj: SquizzObject, frame: pd.DataFrame) -> list[dict]:
    return [{esd: _value(obj, esd, row[column]) for esd, column in obj.fields.items()
             if column in row and row[column] != ""} for row in frame.to_dict("records")]


def build(obj: SquizzObject, frames: dict[str, pd.DataFrame]) -> list[dict]:
    docs = dicts(obj, frames[obj.file])
    if obj.child is not None:
        nested = defaultdict(list)
        for parent, child in zip(frames[obj.child.file][obj.child.key[0]], dicts(obj.child, frames[obj.child.file])):
            nested[parent].append(child)
        for doc in docs:
            doc[obj.child_field] = nested.get(doc["keyProductID"], [])
    return docs


def send(squizz: Squizz, obj: SquizzObject, docs: list[dict]) -> None:
    for start in range(0, len(docs), BATCH):
        batch = docs[start:start + BATCH]
        document = {"version": 1.5, "resultStatus": 1, "message": "", "dataTransferMode": "INCREMENT",
                    "totalDataRecords": len(batch), "configs": {"dataFields": ",".join(obj.data_fields)},
                    "dataRecords": batch}
        squizz.post(obj, gzip.compress(json.dumps(document).encode("utf-8"), compresslevel=GZIP_LEVEL))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--squizz", required=True, help="the SQUIZZ sandbox's base URL")
    args = parser.parse_args(argv)
    squizz = Squizz(args.squizz)

    def report(row: dict) -> None:
        print(json.dumps(row), flush=True)

    for obj in OBJECTS:
        files = [obj.file] + ([obj.child.file] if obj.child else [])
        frames = timed(report, "read", obj.name, lambda: {f: pd.read_csv(args.inbox / f, dtype=str,
                                                                          keep_default_na=False) for f in files},
                       lambda f: sum(len(x) for x in f.values()))
        docs = timed(report, "build", obj.name, lambda: build(obj, frames))
        timed(report, "send", obj.name, lambda: send(squizz, obj, docs), lambda _: len(docs))
    squizz.http.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
