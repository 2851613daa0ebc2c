"""The floor: the least work that keeps SQUIZZ products and unit prices in sync, for bench/run.py to compare against.

    python -m bench.floor --inbox bench/out/inbox --state /tmp/floor --squizz http://127.0.0.1:18080/squizz

Per run, each stage timed (printed as JSON lines for bench/run.py):
- read: the export's CSV files, columnar (polars), every value kept as its text;
- ingest: ADBC bulk ingest into a staging table of a SQLite hub, then one
  INSERT OR REPLACE into the hub table (its unique index on the key);
- plan: the hub read back as Arrow (ADBC), each record's JSON text built with
  column expressions (the payload the project sends: ESD field names, empty
  values left out, numbers as exported, Y/N flags, sell units nested), hashed,
  and anti-joined on (key, hash) against the ledger read the same way;
- serialize: the changed records in slices of `BATCH` in key order, each
  wrapped in the project's ESD envelope and gzipped as the project does it
  (zlib-ng, the project's level), all encoded before the first request: the
  JSON is the project's byte for byte, defaults the hub fills in included;
- send: the pre-encoded documents POSTed one after another to import_esd, so
  its records/s is what the sandbox absorbs;
- ledger: the sent keys and hashes written back by ADBC ingest plus one upsert.

b2b_assets_tests/bench checks that the records it lands equal the project's.
Only products and price-level unit prices: the two that carry the volume.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc
import polars as pl
import requests
from zlib_ng import zlib_ng

from b2b_assets.targets.squizz.envelope import GZIP_LEVEL

BATCH = 5000  # records per document, the benchmark's batch size for the project too


@dataclass(frozen=True)
class SquizzObject:
    name: str
    type_id: int
    file: str
    key: tuple[str, ...]
    fields: dict[str, str]  # ESD field -> export column
    data_fields: tuple[str, ...]  # configs.dataFields: every field the import type knows
    numbers: frozenset[str] = frozenset()  # ESD fields written as JSON numbers (the export's own digits)
    flags: frozenset[str] = frozenset()  # ESD fields written "Y"/"N" from true/false
    child: SquizzObject | None = None  # nested records (sell units), keyed by the parent's first key column
    child_field: str = ""
    defaults: dict[str, str] = field(default_factory=dict)  # column -> the hub's value where the export has none


SELL_UNITS = SquizzObject(
    "product_sell_units", 0, "product_sell_units.csv", ("product_id", "sell_unit_id"),
    {"keySellUnitID": "sell_unit_id", "baseQuantity": "base_quantity", "parentQuantity": "parent_quantity",
     "sellUnitLabel": "label", "isPricedOffBaseUnit": "is_priced_off_base_unit",
     "keySellUnitParentID": "parent_sell_unit_id"},
    ("keySellUnitID", "baseQuantity", "parentQuantity", "sellUnitLabel", "isPricedOffBaseUnit", "keySellUnitParentID"),
    numbers=frozenset({"baseQuantity", "parentQuantity"}), flags=frozenset({"isPricedOffBaseUnit"}),
    defaults={"is_priced_off_base_unit": "false"})  # the hub's default (model/catalog.py): the project sends "N"
PRODUCT_FIELDS = ("keyProductID", "productCode", "productSearchCode", "name", "description1", "description2",
                  "description3", "description4", "keyTaxcodeID", "keySellUnitID", "stockLowQuantity",
                  "stockNoneQuantity", "brand", "barcode", "barcodeInner", "productClass", "isPriceTaxInclusive",
                  "width", "height", "depth", "weight", "volume", "sellUnits")
PRODUCTS = SquizzObject(
    "products", 3, "products.csv", ("product_id",),
    {"keyProductID": "product_id", "productCode": "sku", "name": "name", "description1": "description1",
     "keyTaxcodeID": "tax_code_id", "keySellUnitID": "sell_unit_id", "brand": "brand", "barcode": "barcode",
     "productClass": "product_class", "isPriceTaxInclusive": "is_price_tax_inclusive", "weight": "weight"},
    PRODUCT_FIELDS, numbers=frozenset({"weight"}), flags=frozenset({"isPriceTaxInclusive"}),
    child=SELL_UNITS, child_field="sellUnits")
PRICES = SquizzObject(
    "price_level_unit_prices", 4, "unit_prices.csv", ("product_id", "price_level_id", "sell_unit_id"),
    {"keyProductID": "product_id", "keyPriceLevelID": "price_level_id", "keySellUnitID": "sell_unit_id",
     "price": "price"},
    ("keyProductID", "keyPriceLevelID", "keySellUnitID", "price", "referenceID", "referenceType", "taxRate"),
    numbers=frozenset({"price"}))
OBJECTS = (PRODUCTS, PRICES)
ENTITIES = (PRODUCTS, SELL_UNITS, PRICES)
STAGES = ("read", "ingest", "plan", "serialize", "send", "ledger")


# ---------------------------------------------------------------- the payload, as column expressions
def _member(esd: str, column: str, obj: SquizzObject) -> pl.Expr:
    """`"esd":value` for one field, null where the export has no value (so the field is left out)."""
    value = pl.col(column)
    if esd in obj.numbers:
        text = value  # the export's digits are already a JSON number
    elif esd in obj.flags:
        text = pl.when(value == "true").then(pl.lit('"Y"')).otherwise(pl.lit('"N"'))
    else:
        text = pl.struct(value.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(value.is_not_null() & (value != "")).then(pl.lit(f'"{esd}":') + text)


def record_text(frame: pl.DataFrame, obj: SquizzObject, extra: pl.Expr | None = None) -> pl.Expr:
    members = [_member(esd, column, obj) for esd, column in obj.fields.items() if column in frame.columns]
    if extra is not None:
        members.append(extra)
    return pl.lit("{") + pl.concat_str(members, separator=",", ignore_nulls=True) + pl.lit("}")


def records(hub: dict[str, pl.DataFrame], obj: SquizzObject) -> pl.DataFrame:
    """(record_key, text) per record of `obj`, in key order."""
    frame = hub[obj.file]
    key = pl.concat_str([pl.col(k) for k in obj.key], separator="\x1f").alias("record_key")
    nested = None
    if obj.child is not None:
        children = hub[obj.child.file]
        parent = obj.child.key[0]
        arrays = (children.sort(list(obj.child.key))
                  .select(pl.col(parent), record_text(children, obj.child).alias("child"))
                  .group_by(parent, maintain_order=True).agg(pl.col("child").str.join(",")))
        frame = frame.join(arrays, left_on=obj.key[0], right_on=parent, how="left")
        nested = pl.lit(f'"{obj.child_field}":[') + pl.col("child").fill_null("") + pl.lit("]")
    return frame.select(key, record_text(frame, obj, nested).alias("text")).sort("record_key")


def document(obj: SquizzObject, texts: pl.Series) -> bytes:
    """The ESD envelope around `texts`, in the project's field order, gzipped."""
    head = json.dumps({"version": 1.5, "resultStatus": 1, "message": "", "dataTransferMode": "INCREMENT",
                       "totalDataRecords": len(texts), "configs": {"dataFields": ",".join(obj.data_fields)}},
                      separators=(",", ":"))
    body = head[:-1] + ',"dataRecords":[' + ",".join(texts.to_list()) + "]}"
    gzip = zlib_ng.compressobj(GZIP_LEVEL, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS)  # a gzip container
    return gzip.compress(body.encode("utf-8")) + gzip.flush()


# ---------------------------------------------------------------- the stages
class Squizz:
    """import_esd over one session: the one request both scripts make per document."""

    def __init__(self, url: str, credentials=("sandbox-org", "sandbox-key", "sandbox-password")):
        self.url, self.credentials = url.rstrip("/"), credentials
        self.http = requests.Session()
        self.session_id = ""

    def post(self, obj: SquizzObject, body: bytes) -> None:
        reply = self._post(f"import_esd/{self._session()}", params={"import_type_id": obj.type_id}, data=body,
                           headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        if reply.get("resultStatus") != 1:
            raise RuntimeError(f"SQUIZZ refused a {obj.name} document: {reply.get('message')}")

    def _session(self) -> str:
        if not self.session_id:
            org, key, password = self.credentials
            self.session_id = self._post("create_session", data={
                "org_id": org, "api_org_key": key, "api_org_pw": password, "create_session": "Y"})["session_id"]
        return self.session_id

    def _post(self, action: str, **kwargs) -> dict:
        reply = self.http.post(f"{self.url}/rest/1/org/{action}", timeout=600, **kwargs)
        reply.raise_for_status()
        return reply.json()


class Floor:
    def __init__(self, inbox: Path, state: Path, squizz_url: str):
        self.inbox, self.squizz = inbox, Squizz(squizz_url)
        state.mkdir(parents=True, exist_ok=True)
        self.db = adbc.connect(str(state / "floor.sqlite"))

    def close(self) -> None:
        self.db.close()
        self.squizz.http.close()

    def read(self) -> dict[str, pl.DataFrame]:
        frames = {e.file: pl.read_csv(self.inbox / e.file, infer_schema=False) for e in ENTITIES}
        return {e.file: frames[e.file].with_columns(pl.lit(value).alias(column) for column, value in e.defaults.items()
                                                    if column not in frames[e.file].columns) for e in ENTITIES}

    def ingest(self, frames: dict[str, pl.DataFrame]) -> int:
        with self.db.cursor() as cursor:
            for entity in ENTITIES:
                table, stage = f"hub_{entity.name}", f"stage_{entity.name}"
                cursor.adbc_ingest(stage, frames[entity.file].to_arrow(), mode="replace")
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {stage} WHERE 0")
                cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_key ON {table} ({', '.join(entity.key)})")
                cursor.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM {stage}")
                cursor.execute(f"DROP TABLE {stage}")
            for obj in OBJECTS:
                cursor.execute(f"CREATE TABLE IF NOT EXISTS ledger_{obj.name} (record_key TEXT PRIMARY KEY, "
                               "hash INTEGER NOT NULL)")
        self.db.commit()
        return sum(len(f) for f in frames.values())

    def _arrow(self, sql: str) -> pl.DataFrame:
        with self.db.cursor() as cursor:
            cursor.execute(sql)
            return pl.from_arrow(cursor.fetch_arrow_table())

    def plan(self, obj: SquizzObject) -> pl.DataFrame:
        """The records of `obj` whose payload the ledger does not hold: (record_key, text, hash)."""
        # In key order, as a planner streaming by key range reads it (and so that no column's first Arrow batch
        # is all empty, from which the SQLite driver would infer the wrong type).
        hub = {e.file: self._arrow(f"SELECT * FROM hub_{e.name} ORDER BY {', '.join(e.key)}")
               for e in ENTITIES if e in (obj, obj.child)}
        mapped = records(hub, obj).with_columns(pl.col("text").hash(seed=0).reinterpret(signed=True).alias("hash"))
        ledger = self._arrow(f"SELECT record_key, hash FROM ledger_{obj.name}")
        if ledger.is_empty():
            return mapped
        return mapped.join(ledger, on=["record_key", "hash"], how="anti", maintain_order="left")

    def serialize(self, obj: SquizzObject, changed: pl.DataFrame) -> list[bytes]:
        return [document(obj, changed["text"].slice(start, BATCH)) for start in range(0, len(changed), BATCH)]

    def send(self, obj: SquizzObject, documents: list[bytes]) -> None:
        for body in documents:
            self.squizz.post(obj, body)

    def write_ledger(self, obj: SquizzObject, changed: pl.DataFrame) -> None:
        with self.db.cursor() as cursor:
            cursor.adbc_ingest("stage_ledger", changed.select("record_key", "hash").to_arrow(), mode="replace")
            cursor.execute(f"INSERT OR REPLACE INTO ledger_{obj.name} SELECT record_key, hash FROM stage_ledger")
            cursor.execute("DROP TABLE stage_ledger")
        self.db.commit()


# ---------------------------------------------------------------- one run, timed
def timed(report: Callable[[dict], None], stage: str, target: str, action, count=len):
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    report({"stage": stage, "name": target, "wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "records": count(result), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return result


def run(floor: Floor, report: Callable[[dict], None]) -> None:
    frames = timed(report, "read", "export", floor.read, lambda f: sum(len(x) for x in f.values()))
    timed(report, "ingest", "hub", lambda: floor.ingest(frames), lambda n: n)
    del frames
    for obj in OBJECTS:
        changed = timed(report, "plan", obj.name, lambda: floor.plan(obj))
        documents = timed(report, "serialize", obj.name, lambda: floor.serialize(obj, changed), lambda _: len(changed))
        timed(report, "send", obj.name, lambda: floor.send(obj, documents), lambda _: len(changed))
        timed(report, "ledger", obj.name, lambda: floor.write_ledger(obj, changed), lambda _: len(changed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True, help="the floor's hub and ledger (kept across runs)")
    parser.add_argument("--squizz", required=True, help="the SQUIZZ sandbox's base URL")
    args = parser.parse_args(argv)
    floor = Floor(args.inbox, args.state, args.squizz)
    try:
        run(floor, lambda row: print(json.dumps(row), flush=True))
    finally:
        floor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
