"""JOOR's Customer Sync intake as the sandbox runs it: pick up dropped files, parse them strictly, keep connections.

Its own copy of seed 001's table (the client's is `targets/joor/file_fields.py`),
so a client mistake is caught here rather than mirrored. What it enforces:

- pickup: only files whose name ends in `.txt` or `.csv` and contains
  `customer` are read, once each; anything else (a `.part` upload in
  progress) is left alone;
- the file: UTF-8, the agreed delimiter and CSV quoting (a quoted value may
  hold the delimiter, doubled quotes or newlines), a header row naming only
  columns of the table (`_%` columns with an index from 1), each once, with
  profile_name, customer_code, address_type and the first price type; any
  problem here refuses the whole file;
- each row: as many fields as the header, address_type `B` or `S`, the
  required columns (billing code and country on B rows, shipping code and
  country on S rows), the state where the country is US, CA, JP or AU, the
  maximum lengths, discount an integer of at most 3 digits with
  discount_line_item_level a yes/no value, a buyer's e-mail with its name,
  3-letter currencies, and the customer's own columns equal on all its rows.
  A row's problem refuses its customer from that file; the rest lands.

A landed customer replaces what the intake held for it (as the Bulk
Connection sandbox does). Problems are kept per file with the row number (the
header is row 1), the column and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CUSTOMER = {"profile_name": 100, "customer_code": 100, "customer_alias": 150, "alternate_name": 100,
            "website": 255, "company_number_name": 150, "company_number_code": 100, "customer_group_name": 150,
            "customer_group_code": 100, "discount": 3, "discount_line_item_level": 5, "sales_rep_code": 255,
            "create_doors": 5}
REPEATED = {"warehouse_name": 255, "warehouse_code": 255, "buyer_name": 255, "buyer_email": 255,
            "payment_terms": 255, "payment_terms_code": 255, "shipping_terms": 255,
            "price_type_currency": 3, "price_type_name": 100}
_ADDRESS = {"code": 100, "name": 255, "address_1": 100, "address_2": 100, "city": 150, "state": 40, "zip": 20,
            "country": 100}
ADDRESS = {**{f"shipping_{k}": n for k, n in _ADDRESS.items()}, "shipping_email": 255, "shipping_phone": 30,
           **{f"billing_{k}": n for k, n in _ADDRESS.items()}}
GROUPS = {  # repeated stems read together as one entry
    "warehouses": ("warehouse_name", "warehouse_code"), "buyers": ("buyer_name", "buyer_email"),
    "payment_terms": ("payment_terms", "payment_terms_code"), "shipping_terms": ("shipping_terms",),
    "price_types": ("price_type_currency", "price_type_name"),
}
REQUIRED_HEADER = ("profile_name", "customer_code", "address_type", "price_type_currency_1", "price_type_name_1")
STATE_COUNTRIES = {"US", "USA", "UNITED STATES", "CA", "CANADA", "JP", "JAPAN", "AU", "AUSTRALIA"}
BOOLEANS = {"yes", "no", "y", "n", "true", "false"}
PICKED_UP = re.compile(r".*customer.*\.(txt|csv)", re.IGNORECASE)
_NUMBERED = re.compile(r"(?P<stem>.+)_(?P<n>[1-9][0-9]*)")


@dataclass
class Problem:
    file: str
    row: int | None  # 1 is the header; None: the file as a whole
    column: str | None
    reason: str
    customer_code: str | None = None


@dataclass
class FileSeen:
    name: str
    rows: int = 0
    customers: list[str] = field(default_factory=list)  # landed, in file order
    refused: list[str] = field(default_factory=list)  # customers a row problem kept out
    accepted: bool = True  # False: a file problem refused all of it


class Intake:
    """Parses Customer Sync files the way JOOR would and keeps what landed; not thread-safe (callers lock)."""

    def __init__(self, delimiter: str = "|"):
        self.delimiter = delimiter
        self.connections: dict[str, dict[str, Any]] = {}
        self.files: list[FileSeen] = []
        self.problems: list[Problem] = []

    def pick_up(self, directory: Path) -> list[str]:
        """Read every final-named file not read before, oldest name first; return their names."""
        seen = {f.name for f in self.files}
        new = sorted(p.name for p in directory.iterdir() if p.is_file() and PICKED_UP.fullmatch(p.name)
                     and p.name not in seen)
        for name in new:
            self.read(name, (directory / name).read_bytes())
        return new

    def read(self, name: str, data: bytes) -> FileSeen:
        seen = FileSeen(name)
        self.files.append(seen)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            return self._refuse_file(seen, f"not UTF-8 (byte {error.start})")
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, quotechar='"',
                                   doublequote=True, strict=True)) if text else []
        except csv.Error as error:
            return self._refuse_file(seen, f"unreadable quoting: {error}")
        if not rows:
            return self._refuse_file(seen, "empty file: JOOR expects a header row and customer rows")
        header, body = rows[0], rows[1:]
        header_problem = self._header_problem(header)
        if header_problem:
            return self._refuse_file(seen, header_problem)
        seen.rows = len(body)
        by_customer: dict[str, list[dict[str, str]]] = defaultdict(list)
        bad: set[str] = set()
        for number, values in enumerate(body, start=2):
            code = values[header.index("customer_code")] if len(values) == len(header) else None
            problems = self._row_problems(values, header)
            if problems:
                for column, reason in problems:
                    self.problems.append(Problem(name, number, column, reason, code))
                bad.add(code or f"row {number}")
                continue
            by_customer[code].append(dict(zip(header, values)))
        for code, customer_rows in by_customer.items():
            if code in bad:
                continue
            own = [{c: r[c] for c in r if c in CUSTOMER} for r in customer_rows]
            if any(o != own[0] for o in own[1:]):
                self.problems.append(Problem(name, None, None, "the customer's own columns differ between its "
                                                               "rows", code))
                bad.add(code)
                continue
            self.connections[code] = _connection(customer_rows, name)
            seen.customers.append(code)
        seen.refused = sorted(c for c in bad if c)
        return seen

    def _refuse_file(self, seen: FileSeen, reason: str) -> FileSeen:
        seen.accepted = False
        self.problems.append(Problem(seen.name, None, None, reason))
        return seen

    @staticmethod
    def _header_problem(header: list[str]) -> str | None:
        for column in header:
            if not _known(column):
                return f"unknown column {column!r} in the header"
        duplicates = sorted({c for c in header if header.count(c) > 1})
        if duplicates:
            return f"columns named twice in the header: {', '.join(duplicates)}"
        missing = [c for c in REQUIRED_HEADER if c not in header]
        if missing:
            return f"required columns missing from the header: {', '.join(missing)}"
        return None

    @staticmethod
    def _row_problems(values: list[str], header: list[str]) -> list[tuple[str | None, str]]:
        if len(values) != len(header):
            return [(None, f"row has {len(values)} fields, the header has {len(header)}")]
        row = dict(zip(header, values))
        found: list[tuple[str | None, str]] = []
        kind = row["address_type"]
        if kind not in ("B", "S"):
            found.append(("address_type", f"address_type is {kind!r}; JOOR expects B or S"))
        required = ["profile_name", "customer_code", "price_type_currency_1", "price_type_name_1"]
        prefix = {"B": "billing", "S": "shipping"}.get(kind)
        if prefix:
            required += [f"{prefix}_code_1", f"{prefix}_country_1"]
        found += [(c, f"{c} is required") for c in required if not row.get(c)]
        for column, value in row.items():
            maximum = _maximum(column)
            if value and maximum is not None and len(value) > maximum:
                found.append((column, f"{len(value)} characters; at most {maximum}"))
            stem = _stem(column)
            if stem in ("shipping_country", "billing_country") and value.upper() in STATE_COUNTRIES:
                state = column.replace("_country", "_state")
                if not row.get(state):
                    found.append((state, f"{state} is required when the country is {value}"))
            if stem == "buyer_name" and value and not row.get(column.replace("buyer_name", "buyer_email")):
                found.append((column.replace("buyer_name", "buyer_email"), "a buyer's e-mail is required with "
                                                                          "the buyer's name"))
            if stem == "price_type_currency" and value and not re.fullmatch(r"[A-Z]{3}", value):
                found.append((column, f"{value!r} is not a 3-letter currency code"))
        if row.get("discount"):
            if not re.fullmatch(r"[0-9]{1,3}", row["discount"]):
                found.append(("discount", f"{row['discount']!r} is not an integer of at most 3 digits"))
            if not row.get("discount_line_item_level"):
                found.append(("discount_line_item_level", "required when a discount is given"))
        for column in ("discount_line_item_level", "create_doors"):
            if row.get(column) and row[column].lower() not in BOOLEANS:
                found.append((column, f"{row[column]!r} is not a yes/no value"))
        return found


def _connection(rows: list[dict[str, str]], file: str) -> dict[str, Any]:
    first = rows[0]
    connection: dict[str, Any] = {c: v for c, v in first.items() if c in CUSTOMER and v}
    for group, stems in GROUPS.items():
        connection[group] = _entries(first, stems)
    for kind, prefix in (("B", "billing"), ("S", "shipping")):
        stems = tuple(s for s in ADDRESS if s.startswith(prefix + "_"))
        connection[f"{prefix}_addresses"] = [a for r in rows if r["address_type"] == kind
                                             for a in _entries(r, stems)]
    connection["file"] = file
    return connection


def _entries(row: dict[str, str], stems: tuple[str, ...]) -> list[dict[str, str]]:
    numbers = sorted({int(m["n"]) for c in row if (m := _NUMBERED.fullmatch(c)) and m["stem"] in stems})
    entries = [{s: row.get(f"{s}_{n}", "") for s in stems if row.get(f"{s}_{n}")} for n in numbers]
    return [e for e in entries if e]


def _known(column: str) -> bool:
    if column in CUSTOMER or column == "address_type":
        return True
    match = _NUMBERED.fullmatch(column)
    return bool(match) and (match["stem"] in REPEATED or match["stem"] in ADDRESS)


def _stem(column: str) -> str:
    match = _NUMBERED.fullmatch(column)
    return match["stem"] if match and (match["stem"] in REPEATED or match["stem"] in ADDRESS) else column


def _maximum(column: str) -> int | None:
    if column in CUSTOMER:
        return CUSTOMER[column]
    stem = _stem(column)
    return REPEATED.get(stem, ADDRESS.get(stem))
