"""Deterministic scale export for benchmarks.

    python -m bench.generate --products 1000000 --prices 5000000 --out bench/out/
    python -m bench.generate --products 1000000 --prices 5000000 --out bench/out/ --change-percent 1

Writes an ERP export in the same shape as the bundled sample (`data/inbox` +
`data/mapping.yaml`): `<out>/inbox/*.csv` and `<out>/mapping.yaml`, for
taxcodes, price_levels, sell_units, sites, sales_reps, payment_types,
organizations, locations, users (what SQUIZZ, JOOR and Norce read), products,
product_sell_units, unit_prices (exactly `--prices` rows) and stock_levels.
Everything is vectorised (numpy + pyarrow compute, no per-row Python) and
derived from `--seed`, so the same arguments always give byte-identical files.

`--change-percent P` writes the same export with P % of the products, P % of
the unit prices and P % of the organizations changed (rows chosen
deterministically from `--seed` and `--change-round`): changed products get a
new name suffix and weight, changed prices move by a few percent, changed
organizations get a new name suffix. Products, unit prices and organizations
are always rewritten; the other files only when missing. A delta benchmark runs a full sync on the
base export, then a sync on the changed one, and expects exactly the numbers in
`<out>/changes.json` to be sent. All rows are valid and every reference resolves.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

SELL_UNITS = [  # id, label, base quantity, parent, parent quantity, is base unit
    ("EA", "Each", 1.0, None, None, True),
    ("PK6", "Pack of 6", 6.0, "EA", 6.0, False),
    ("CTN24", "Carton of 24", 24.0, "PK6", 4.0, False),
    ("PAL", "Pallet (40 cartons)", 960.0, "CTN24", 40.0, False),
]
PRICED_UNITS = 3  # unit prices use EA, PK6 and CTN24; PAL exists in the hierarchy only
UNIT_FACTOR = np.array([1.0, 6 * 0.97, 24 * 0.93])
TAXCODES = [("GST", "GST", 10.0, "GST 10%"), ("GST-FREE", "FRE", 0.0, "GST free"), ("VAT-DE19", "DE19", 19.0, "MwSt. 19 %"),
            ("VAT-FR20", "FR20", 20.0, "TVA 20 %"), ("VAT-GB20", "GB20", 20.0, "VAT 20%"), ("VAT-SE25", "SE25", 25.0, "Moms 25 %"),
            ("JCT10", "JCT", 10.0, "消費税 10%"), ("GST-CA5", "GST5", 5.0, "GST 5%"), ("US-EXEMPT", "EXM", 0.0, "Exempt")]
COUNTRIES = np.array(["AU", "US", "CA", "DE", "FR", "JP", "GB", "SE", "NL", "DK"])
CURRENCIES = np.array(["AUD", "USD", "CAD", "EUR", "EUR", "JPY", "GBP", "SEK", "EUR", "DKK"])
CITIES = np.array(["Sydney", "Los Angeles", "Toronto", "Düsseldorf", "Lyon", "大阪市", "London", "Göteborg", "Amsterdam",
                   "København"])
WORDS_A = np.array(["Chef's", "Stainless", "Cast iron", "Heavy-duty", "Compact", "Professional", "Ceramic", "Forged",
                    "Galvanised", "Nordic", "Poêle", "Müller", "Ørsted", "三徳", "Café", "Industrial"])
WORDS_B = np.array(["knife", "skillet", "stockpot", "hammer", "drill", "tongs", "whisk", "plate", "cup", "bracket",
                    "screws", "shelf", "gloves", "ladle", "saucepan", "board"])
BRANDS = np.array(["Klingenwerk", "Seki Hamono", "Fonderie Lyonnaise", "Nordisk Stål", "Ørsted Keramik", "Hearthline",
                   "Stahlwerk", "Guangdong Metalware"])
STATES = np.array(["NSW", "CA", "ON", "NW", "ARA", "27", "LND", "VG", "NH", "84"])  # one region per country
FIRST_NAMES = np.array(["Stefan", "Lea", "Amélie", "Kenji", "Ingrid", "Olivia", "Mateo", "Søren", "Chloé", "Yuki",
                        "Hannah", "Liam"])
LAST_NAMES = np.array(["Müller", "Wagner", "Girard", "Tanaka", "Lindqvist", "Smith", "García", "Jørgensen", "Dubois",
                       "Sato", "Becker", "O'Brien"])
SALES_REPS = 20
PAYMENT_TYPES = [("ACCT", "On account", "ACCOUNT"), ("CC", "Credit card", "CREDITCARD"),
                 ("EFT", "Direct deposit", "DIRECTDEPOSIT"), ("COD", "Cash on delivery", "COD")]
CLASSES = np.array(["Knives", "Cookware", "Catering", "Utensils", "Tableware", "Appliances", "Hand tools", "Fasteners"])


# ---------------------------------------------------------------- vectorised helpers
def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


def join(*parts, sep: str = "") -> pa.Array:
    parts = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(str(p)) for p in parts]
    return pc.binary_join_element_wise(*parts, sep)


def pick(choices: np.ndarray, index: np.ndarray) -> pa.Array:
    """choices[index] as an Arrow string array, built as a dictionary (cheap for millions of rows)."""
    text = pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), pa.array(choices)).cast(pa.string())
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)  # "" -> empty cell


def money(values: np.ndarray) -> pa.Array:
    return pa.array(np.round(values, 2))


def write(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=True, batch_size=1 << 16,
                                                    quoting_style="needed"))


# ---------------------------------------------------------------- the data
def layout(products: int, prices: int) -> tuple[int, int]:
    """(price-level × unit combinations needed, price levels needed) so that `prices` keys are unique."""
    combos = max(1, math.ceil(prices / products))
    levels = max(5, math.ceil(combos / PRICED_UNITS))
    return combos, levels


def small_tables(args, levels: int) -> dict[str, pa.Table]:
    n_sites = args.sites
    site_no = np.arange(1, n_sites + 1)
    country_of_site = (site_no - 1) % len(COUNTRIES)
    level_ids = ["RETAIL", "TRADE", "VIP", "DIST", "EXPORT"] + [f"LVL{i:03d}" for i in range(6, levels + 1)]
    rep_no = np.arange(1, SALES_REPS + 1)
    return {
        "taxcodes": pa.table({"tax_code_id": [t[0] for t in TAXCODES], "code": [t[1] for t in TAXCODES],
                              "rate_percent": [t[2] for t in TAXCODES], "label": [t[3] for t in TAXCODES]}),
        "price_levels": pa.table({"price_level_id": level_ids, "label": [f"Price level {i}" for i in level_ids]}),
        "sell_units": pa.table({
            "sell_unit_id": [u[0] for u in SELL_UNITS], "code": [u[0] for u in SELL_UNITS],
            "label": [u[1] for u in SELL_UNITS], "is_base_unit": [u[5] for u in SELL_UNITS],
            "base_quantity": [u[2] for u in SELL_UNITS], "parent_quantity": [u[4] for u in SELL_UNITS],
            "parent_sell_unit_id": [u[3] for u in SELL_UNITS]}),
        "sites": pa.table({
            "site_id": ids("WH-", site_no, 3), "code": ids("S", site_no, 3),
            "name": join(pick(CITIES, country_of_site), " DC ", pa.array(site_no.astype(str))),
            "site_type": pa.array(np.where(site_no % 10 == 0, "STORE", "WAREHOUSE")),
            "is_active": pa.array(np.ones(n_sites, bool)), "country": pick(COUNTRIES, country_of_site),
            "city": pick(CITIES, country_of_site)}),
        "sales_reps": pa.table({
            "sales_rep_id": ids("SR-", rep_no, 2), "code": ids("R", rep_no, 3),
            "name": join(pick(FIRST_NAMES, rep_no % len(FIRST_NAMES)), " ", pick(LAST_NAMES, rep_no % len(LAST_NAMES))),
            "email": join("rep", ids("", rep_no, 2), "@seller.example"), "is_individual": pa.array(np.ones(len(rep_no), bool))}),
        "payment_types": pa.table({
            "payment_type_id": [p[0] for p in PAYMENT_TYPES], "code": [p[0] for p in PAYMENT_TYPES],
            "label": [p[1] for p in PAYMENT_TYPES], "payment_method": [p[2] for p in PAYMENT_TYPES]}),
    }


def organization_table(n: int, sites: int, seed: int) -> pa.Table:
    """Customer organizations with what SQUIZZ customer accounts, JOOR connections and Norce companies carry."""
    rng = np.random.default_rng(seed + 7)
    no = np.arange(1, n + 1)
    country = rng.integers(0, len(COUNTRIES), n)
    site = rng.integers(1, sites + 1, n)
    payment = np.array(["ACCT", "ACCT;CC", "CC;EFT", "ACCT;EFT;COD"])
    return pa.table({
        "organization_number": ids("C-", no, 7),
        "organization_name": join(pick(WORDS_A, no % len(WORDS_A)), " Trading ", ids("", no, 7)),
        "status": pa.array(np.where(no % 50 == 0, "inactive", "active")),
        "email": join("accounts@c", ids("", no, 7), ".example"),
        "phone": join("+61 2 9", ids("", no % 10_000_000, 7)),
        "contact_name": join(pick(FIRST_NAMES, no % len(FIRST_NAMES)), " ", pick(LAST_NAMES, (no // 7) % len(LAST_NAMES))),
        "currency": pick(CURRENCIES, country), "retail_currency": pick(CURRENCIES, country),
        "price_type_label": pick(np.array(["Wholesale", "Retail", "Distributor"]), no % 3),
        "price_level_id": pick(np.array(["RETAIL", "TRADE", "VIP", "DIST", "EXPORT"]), no % 5),
        "sales_rep_id": ids("SR-", no % SALES_REPS + 1, 2),
        "payment_type_ids": pick(payment, no % len(payment)),
        "site_ids": ids("WH-", site, 3),
        "shipping_method": pick(np.array(["dhl_freight", "ups_ground", "pickup"]), no % 3),
        "discount_percent": pa.array(np.where(no % 4 == 0, 5.0, 0.0)),
        "discount_line_item_level": pa.array(no % 8 == 0),
        "credit_limit": pa.array(((no % 10) + 1) * 5000.0),
        "vat_no": ids("VAT", no, 9),
        "territory": pick(COUNTRIES, country)})


def location_table(n: int, organizations: int) -> pa.Table:
    """Locations spread over the organizations in turn: each organization's first is its primary billing address."""
    i = np.arange(n)
    org = i % organizations + 1
    k = i // organizations
    country = org % len(COUNTRIES)
    billing = k == 0
    return pa.table({
        "organization_number": ids("C-", org, 7),
        "location_id": join(ids("C-", org, 7), "-L", ids("", k + 1, 2)),
        "location_name": join(pick(CITIES, country), " branch ", ids("", k + 1, 2)),
        "address1": join(ids("", i % 997 + 1, 1), " Harbour Street"),
        "city": pick(CITIES, country), "state": pick(STATES, country),
        "postal_code": ids("", i % 90_000 + 10_000, 5), "country": pick(COUNTRIES, country),
        "status": pa.array(np.full(n, "active")),
        "address_type": pa.array(np.where(billing, "billing", "shipping")),
        "is_primary": pa.array(billing)})


def user_table(n: int, organizations: int) -> pa.Table:
    """Buyers spread over the organizations in turn, each with a unique e-mail."""
    no = np.arange(1, n + 1)
    org = (no - 1) % organizations + 1
    first, last = pick(FIRST_NAMES, no % len(FIRST_NAMES)), pick(LAST_NAMES, (no // 12) % len(LAST_NAMES))
    username = ids("user", no, 7)
    return pa.table({
        "organization_number": ids("C-", org, 7), "user_id": ids("U-", no, 7), "username": username,
        "name": join(first, " ", last), "email": join(username, "@c", ids("", org, 7), ".example"),
        "phone": join("+61 4 ", ids("", no % 100_000_000, 8)),
        "active": pa.array(no % 40 != 0), "role": pick(np.array(["buyer", "manager"]), (no % 5 == 0).astype(int)),
        "title": pick(np.array(["Buyer", "Purchasing manager"]), (no % 5 == 0).astype(int))})


def product_table(n: int, seed: int) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    no = np.arange(1, n + 1)
    a, b = rng.integers(0, len(WORDS_A), n), rng.integers(0, len(WORDS_B), n)
    brand, cls = rng.integers(0, len(BRANDS), n), rng.integers(0, len(CLASSES), n)
    base_price = np.round(np.exp(rng.normal(3.0, 1.1, n)), 2) + 0.5
    weight = np.round(rng.gamma(2.0, 0.6, n), 3)
    tax = np.where(no % 17 == 0, 1, 0)
    pid = ids("P", no, 8)
    table = pa.table({
        "product_id": pid, "sku": ids("SKU", no, 8),
        "name": join(pick(WORDS_A, a), " ", pick(WORDS_B, b), " #", ids("", no, 8)),
        "description1": join(pick(BRANDS, brand), " – ", pick(CLASSES, cls), " range"),
        "tax_code_id": pick(np.array(["GST", "GST-FREE"]), tax), "sell_unit_id": pa.array(np.full(n, "EA")),
        "brand": pick(BRANDS, brand), "barcode": ids("93", no, 11), "product_class": pick(CLASSES, cls),
        "is_price_tax_inclusive": pa.array(np.zeros(n, bool)), "weight": pa.array(weight),
    })
    return table, base_price


def product_sell_unit_table(n: int, combos: int) -> pa.Table:
    units = min(PRICED_UNITS, combos)
    no = np.tile(np.arange(1, n + 1), units)
    u = np.repeat(np.arange(units), n)
    return pa.table({
        "product_id": ids("P", no, 8), "sell_unit_id": pick(np.array([s[0] for s in SELL_UNITS]), u),
        "label": pick(np.array([s[1] for s in SELL_UNITS]), u),
        "base_quantity": pa.array(np.array([s[2] for s in SELL_UNITS])[u]),
        "parent_quantity": pa.array(np.array([s[4] or np.nan for s in SELL_UNITS])[u], from_pandas=True),
        "parent_sell_unit_id": pick(np.array([s[3] or "" for s in SELL_UNITS]), u),
    })


def unit_price_table(n: int, prices: int, base_price: np.ndarray, levels: int) -> tuple[pa.Table, np.ndarray]:
    i = np.arange(prices, dtype=np.int64)
    product = i % n
    combo = i // n
    unit, level = combo % PRICED_UNITS, combo // PRICED_UNITS
    level_factor = np.concatenate([[1.0, 0.8, 0.72, 0.65, 0.7], 0.9 - 0.002 * np.arange(max(0, levels - 5))])
    price = np.round(base_price[product] * level_factor[level] * UNIT_FACTOR[unit], 2)
    level_ids = np.array(["RETAIL", "TRADE", "VIP", "DIST", "EXPORT"] + [f"LVL{k:03d}" for k in range(6, levels + 1)])
    table = pa.table({
        "product_id": ids("P", product + 1, 8), "price_level_id": pick(level_ids, level),
        "sell_unit_id": pick(np.array([s[0] for s in SELL_UNITS[:PRICED_UNITS]]), unit),
    })
    return table, price


def stock_table(n: int, sites: int, per_product: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed + 3)
    per_product = min(per_product, sites)
    no = np.tile(np.arange(n), per_product)
    k = np.repeat(np.arange(per_product), n)
    site = (no + k * max(1, sites // per_product)) % sites + 1  # distinct sites per product
    on_hand = rng.integers(0, 1000, len(no)).astype(float)
    reserved = np.floor(on_hand / 10)
    return pa.table({
        "site_id": ids("WH-", site, 3), "product_id": ids("P", no + 1, 8),
        "qty_available": pa.array(on_hand - reserved), "qty_on_hand": pa.array(on_hand),
        "qty_reserved": pa.array(reserved)})


def changed_rows(count: int, percent: float, seed: int, salt: int) -> np.ndarray:
    k = int(round(count * percent / 100.0))
    rng = np.random.default_rng([seed, salt])
    return np.sort(rng.choice(count, size=k, replace=False)) if k else np.array([], dtype=np.int64)


def with_suffix(table: pa.Table, column: str, rows: np.ndarray, change_round: int) -> pa.Table:
    """`table` with " (rev N)" appended to `column` in `rows`."""
    mask = np.zeros(table.num_rows, bool)
    mask[rows] = True
    suffix = pa.array(np.where(mask, f" (rev {change_round})", ""))
    return table.set_column(table.schema.get_field_index(column), column, join(table[column].combine_chunks(), suffix))


# Organizations list their payment types ";"-separated in the file (the CSV delimiter is ",").
SOURCE_OPTIONS = {"organizations": '    columns:\n      payment_type_ids: {from: payment_type_ids, split: ";"}'}
MAPPING = """\
# Scale export written by bench/generate.py ({args}). Same format as data/mapping.yaml.
inbox: inbox
defaults: {{encoding: utf-8, delimiter: ","}}
users_key: user
default_status: active
sources:
{sources}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--prices", type=int, default=5_000_000, help="unit_prices rows (exact)")
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--locations", type=int, default=30_000, help="customer locations, over the organizations")
    parser.add_argument("--users", type=int, default=50_000, help="buyers, over the organizations")
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--stock-per-product", type=int, default=2, help="stock_levels rows per product")
    parser.add_argument("--seed", type=int, default=20250316)
    parser.add_argument("--change-percent", type=float, default=0.0,
                        help="rewrite products and unit prices with this %% of rows changed")
    parser.add_argument("--change-round", type=int, default=1, help="which deterministic set of changes to apply")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args(argv)
    if args.products < 1 or args.prices < 0 or not 0 <= args.change_percent <= 100:
        parser.error("--products must be >= 1, --prices >= 0, --change-percent within 0..100")
    if args.organizations < 1 or args.locations < args.organizations or args.users < 0:
        parser.error("--organizations must be >= 1 and --locations at least one per organization")

    started = time.perf_counter()
    inbox = args.out / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    combos, levels = layout(args.products, args.prices)
    written: dict[str, Path] = {}
    timings: dict[str, float] = {}

    def emit(entity: str, table: pa.Table, always: bool = True) -> None:
        path = inbox / f"{entity}.csv"
        if always or not path.exists():
            t0 = time.perf_counter()
            write(table, path)
            timings[entity] = time.perf_counter() - t0
        written[entity] = path

    changing = args.change_percent > 0
    for entity, table in small_tables(args, levels).items():
        emit(entity, table, always=not changing)

    changes: dict[str, object] = {"change_percent": args.change_percent, "change_round": args.change_round}
    organizations = organization_table(args.organizations, args.sites, args.seed)
    if changing:
        rows = changed_rows(args.organizations, args.change_percent, args.seed, 3000 + args.change_round)
        organizations = with_suffix(organizations, "organization_name", rows, args.change_round)
        changes["organizations_changed"] = int(len(rows))
    emit("organizations", organizations)
    emit("locations", location_table(args.locations, args.organizations), always=not changing)
    emit("users", user_table(args.users, args.organizations), always=not changing)

    products, base_price = product_table(args.products, args.seed)
    if changing:
        rows = changed_rows(args.products, args.change_percent, args.seed, 1000 + args.change_round)
        mask = np.zeros(args.products, bool)
        mask[rows] = True
        products = with_suffix(products, "name", rows, args.change_round)
        weight = products["weight"].to_numpy() + np.where(mask, 0.1 * args.change_round, 0.0)
        products = products.set_column(products.schema.get_field_index("weight"), "weight", pa.array(np.round(weight, 3)))
        changes["products_changed"] = int(mask.sum())
    emit("products", products)
    emit("product_sell_units", product_sell_unit_table(args.products, combos), always=not changing)

    prices, price = unit_price_table(args.products, args.prices, base_price, levels)
    if changing:
        rows = changed_rows(args.prices, args.change_percent, args.seed, 2000 + args.change_round)
        price[rows] = np.round(price[rows] * (1.0 + 0.03 * args.change_round), 2)
        changes["unit_prices_changed"] = int(len(rows))
    emit("unit_prices", prices.append_column("price", money(price)))
    emit("stock_levels", stock_table(args.products, args.sites, args.stock_per_product, args.seed), always=not changing)

    sources = "\n".join(f"  {entity}:\n    file: {path.name}" + (f"\n{SOURCE_OPTIONS[entity]}" if entity in SOURCE_OPTIONS else "")
                        for entity, path in written.items())
    shown = f"--products {args.products} --prices {args.prices} --seed {args.seed}"
    (args.out / "mapping.yaml").write_text(MAPPING.format(args=shown, sources=sources), encoding="utf-8")
    if changing:
        (args.out / "changes.json").write_text(json.dumps(changes, indent=2) + "\n", encoding="utf-8")
    else:
        (args.out / "changes.json").unlink(missing_ok=True)
    elapsed = time.perf_counter() - started

    total = 0
    print(f"{'entity':20s} {'rows':>10s} {'MiB':>9s} {'write s':>8s}")
    for entity, path in written.items():
        size = path.stat().st_size
        total += size
        rows = {"products": args.products, "unit_prices": args.prices, "organizations": args.organizations,
                "locations": args.locations, "users": args.users}.get(entity)
        rows_text = f"{rows:10d}" if rows is not None else " " * 10
        mark = f"{timings[entity]:8.2f}" if entity in timings else "    kept"
        print(f"{entity:20s} {rows_text} {size / 2**20:9.1f} {mark}")
    print(f"{'total':20s} {'':10s} {total / 2**20:9.1f}")
    if changing:
        print(f"changed: {changes}")
    print(f"wrote {args.out / 'mapping.yaml'} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
