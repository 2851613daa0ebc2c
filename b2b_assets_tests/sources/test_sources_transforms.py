"""The mapping's transforms on small exports shaped like the real ones that needed outside workarounds.

Each test writes an inbox and a mapping.yaml, then stages the entity as a run does (reader, DuckDB
transform, mapping, validation, staging, quarantine), and asserts what would reach the hub.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.staging import read_staged
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store


class Export:
    """An inbox plus a mapping, staged entity by entity into a real SQLite store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "inbox").mkdir(parents=True, exist_ok=True)
        self.store = Store(f"sqlite:///{root}/hub.sqlite")
        self.store.create_all()

    def file(self, name: str, text: str) -> None:
        (self.root / "inbox" / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def mapping(self, text: str) -> Path:
        path = self.root / "mapping.yaml"
        path.write_text("inbox: inbox\n" + textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def stage(self, entity: str):
        mapping = load_mapping(self.root / "mapping.yaml")
        result = stage_entity(entity, mapping, self.store, self.root / "staging", self.root / "reports", "run-1")
        staged = list(read_staged(self.root / "staging", entity))
        frame = pd.concat(staged, ignore_index=True) if staged else pd.DataFrame()
        return result, frame


@pytest.fixture
def export(tmp_path):
    e = Export(tmp_path)
    yield e
    e.store.dispose()


def values(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """Rows as plain tuples; exact decimals compared as floats so the expectations read as the export does."""
    def plain(v):
        return None if pd.isna(v) else float(v) if isinstance(v, Decimal) else v
    return sorted(tuple(plain(v) for v in row) for row in frame[list(columns)].itertuples(index=False))


def test_dated_price_history_keeps_the_latest_price_and_reports_what_it_skipped(export):
    # M/D/YYYY dates: as text, 1/15/2024 sorts after 12/1/2023 and 3/2/2025 before 12/..., so only a parsed date works.
    export.file("price_history.csv", """
        ItemCode,PriceDate,ListPrice
        P1,12/1/2023,1100.00
        P1,3/2/2025,1431.50
        P1,1/15/2024,1263.46
        P2,7/4/2024,99.90
    """)
    export.mapping("""
        sources:
          unit_prices:
            file: price_history.csv
            dedupe: {by: ItemCode, keep: "parse_date(PriceDate, '%m/%d/%Y') DESC"}
            columns: {product_id: ItemCode, price: ListPrice}
            constants: {price_level_id: LIST, sell_unit_id: EA}
    """)
    result, staged = export.stage("unit_prices")
    assert values(staged, "product_id", "price") == [("P1", 1431.5), ("P2", 99.9)]
    assert (result.rows_read, result.rows_valid, result.rows_skipped, result.rows_quarantined) == (4, 2, 2, 0)
    note = next(w for w in result.warnings if "dedupe" in w)
    assert "2 row(s) skipped" in note and "row 1 (kept row 2)" in note and "PriceDate" in note


def test_m_d_yyyy_dates_in_a_filter_drop_prices_not_yet_valid(export):
    export.file("price_list.csv", """
        Item,ValidFrom,Price
        P1,12/31/2024,10.00
        P2,1/2/2999,11.00
        P3,13/45/2024,12.00
    """)
    export.mapping("""
        sources:
          unit_prices:
            file: price_list.csv
            filter: "coalesce(try_strptime(ValidFrom, '%m/%d/%Y') <= current_date, true)"
            columns: {product_id: Item, price: Price}
            constants: {price_level_id: LIST, sell_unit_id: EA}
    """)
    result, staged = export.stage("unit_prices")
    # A date that does not parse is not a reason to drop the row silently: it stays (and loads).
    assert staged["product_id"].tolist() == ["P1", "P3"] and result.rows_skipped == 1


def test_net_price_from_list_price_and_discount_given_as_fraction_or_percentage(export):
    export.file("prices.csv", """
        Item,List,DiscFraction,DiscPercent
        P1,200.00,0.1,10
        P2,50,0.25,25%
        P3,80,,
    """)
    export.mapping("""
        sources:
          unit_prices:
            file: prices.csv
            columns:
              product_id: Item
              price: {expr: "num(List) * (1 - coalesce(from_fraction(DiscFraction), 0))"}
            constants: {price_level_id: NET, sell_unit_id: EA}
          quantity_prices:
            file: prices.csv
            columns:
              product_id: Item
              price: {expr: "num(List) * (1 - coalesce(from_percent(DiscPercent), 0))"}
            constants: {price_level_id: NET, sell_unit_id: EA, quantity: "1"}
    """)
    _, by_fraction = export.stage("unit_prices")
    _, by_percent = export.stage("quantity_prices")
    expected = [("P1", 180.0), ("P2", 37.5), ("P3", 80.0)]
    assert values(by_fraction, "product_id", "price") == expected
    assert values(by_percent, "product_id", "price") == expected


def test_order_lines_quantity_column_never_overrides_the_constant_quantity(export):
    # The ERP's order lines carry how many were ordered; the customer price is a price from 1 unit.
    export.file("order_lines.csv", """
        OrderNo,CustNo,Item,Quantity,UnitPrice
        SO-1,C-1,P1,6,12.50
        SO-2,C-2,P1,35,12.10
        SO-3,C-1,P2,60,3.00
    """)
    export.mapping("""
        sources:
          customer_prices:
            file: order_lines.csv
            columns: {product_id: Item, organization_number: CustNo, price: UnitPrice}
            constants: {quantity: "1", sell_unit_id: EA}
    """)
    result, staged = export.stage("customer_prices")
    assert result.rows_valid == 3
    assert staged["quantity"].tolist() == [1.0, 1.0, 1.0]


def test_contacts_whose_name_column_is_the_company_get_first_and_last_name(export):
    export.file("contacts.csv", """
        PersonID,CustNo,Name,First,Last,EMail
        U1,C-1,Harbour Café Pty Ltd, Anna ,Berg,anna@cafe.example
        U2,C-1,Harbour Café Pty Ltd,Ben,,ben@cafe.example
    """)
    export.mapping("""
        sources:
          users:
            file: contacts.csv
            columns:
              user_id: PersonID
              organization_number: CustNo
              email: EMail
              name: {expr: "concat_ws(' ', nullif(trim(First), ''), nullif(trim(Last), ''))"}
    """)
    result, staged = export.stage("users")
    assert result.rows_refused == 0, result.issues.to_string()  # user_key derives from the mapped user_id
    assert values(staged, "user_key", "name") == [("U1", "Anna Berg"), ("U2", "Ben")]


def test_name_matching_can_be_switched_off_so_a_same_named_column_is_not_taken(export):
    export.file("contacts.csv", """
        PersonID,CustNo,Name,EMail,Phone
        U1,C-1,Harbour Café Pty Ltd,anna@cafe.example,+61 2 5550 1000
    """)
    mapping = """
        sources:
          users:
            file: contacts.csv
            {switch}
            columns: {{user_id: PersonID, organization_number: CustNo, email: EMail}}
            constants: {{name: Purchasing}}
    """
    export.mapping(mapping.format(switch="match_by_name: true"))
    _, staged = export.stage("users")
    assert staged[["name", "phone"]].iloc[0].tolist() == ["Purchasing", "+61 2 5550 1000"]  # constant wins over Name
    export.mapping(mapping.format(switch="match_by_name: false"))
    _, staged = export.stage("users")
    assert staged["name"].tolist() == ["Purchasing"] and staged["phone"].isna().all()  # Phone not matched by name


def test_users_keyed_by_organization_accept_a_mapped_organization_column(export):
    export.file("contacts.csv", "CustomerNo,Contact,EMail\nC-1,Anna Berg,anna@cafe.example\n")
    export.mapping("""
        users_key: organization
        sources:
          users:
            file: contacts.csv
            columns: {organization_number: CustomerNo, name: Contact, email: EMail}
    """)
    result, staged = export.stage("users")
    assert (result.rows_refused, staged["user_key"].tolist()) == (0, ["C-1"])


def test_billing_and_shipping_of_one_row_become_two_locations_with_keys_for_ship_tos_without_id(export):
    export.file("customers.csv", """
        CustNo,BillAddr,BillCity,BillCountry,ShipToID,ShipAddr,ShipCity,ShipCountry
        C-1,1 Pitt St,Sydney,Australia,,9 Dock Rd,Botany,AU
        C-2,5 Rue Cler,Paris,France,ST-77,2 Quai Sud,Lyon,Ivory Coast
    """)
    export.mapping("""
        sources:
          locations:
            file: customers.csv
            columns: {organization_number: CustNo}
            unpivot:
              billing:
                location_id: "CustNo || '-BILL'"
                address_type: "'billing'"
                address1: BillAddr
                city: BillCity
                country: BillCountry
              shipping:
                location_id: "coalesce(ShipToID, CustNo || '-SHIP')"
                address_type: "'shipping'"
                address1: ShipAddr
                city: ShipCity
                country: ShipCountry
    """)
    result, staged = export.stage("locations")
    assert (result.rows_read, result.rows_valid) == (4, 4)
    assert values(staged, "organization_number", "location_id", "address_type", "city", "country") == [
        ("C-1", "C-1-BILL", "billing", "Sydney", "AU"), ("C-1", "C-1-SHIP", "shipping", "Botany", "AU"),
        ("C-2", "C-2-BILL", "billing", "Paris", "FR"), ("C-2", "ST-77", "shipping", "Lyon", "CI")]


def test_two_price_columns_become_two_price_levels_and_a_bad_one_is_reported_at_its_row(export):
    export.file("items.csv", """
        Item,Retail,Trade
        P1,19.95,14.00
        P2,9.50,abc
    """)
    export.mapping("""
        sources:
          unit_prices:
            file: items.csv
            columns: {product_id: Item}
            constants: {sell_unit_id: EA}
            unpivot:
              retail: {price_level_id: "'RETAIL'", price: Retail}
              trade: {price_level_id: "'TRADE'", price: Trade}
    """)
    result, staged = export.stage("unit_prices")
    assert values(staged, "product_id", "price_level_id", "price") == [
        ("P1", "RETAIL", 19.95), ("P1", "TRADE", 14.0), ("P2", "RETAIL", 9.5)]
    bad = result.issues.iloc[0]
    assert (bad["source"], bad["row_number"], bad["field"], bad["value"]) == ("items.csv (trade)", 2, "price", "abc")
    assert result.rows_read == result.rows_valid + result.rows_quarantined == 4


def test_a_key_looked_up_in_another_inbox_file(export):
    export.file("orders.csv", "Customer,Item,Price\nHarbour Café,P1,12.50\nUnknown Shop,P1,13.00\n")
    export.file("customers.csv", "CustNo,Name\nC-1,Harbour Café\nC-1-DUP,Harbour Café\n")
    export.mapping("""
        sources:
          customer_prices:
            file: orders.csv
            lookup:
              customers: {file: customers.csv, on: {Customer: Name}, take: {CustNo: CustNo}}
            columns: {organization_number: CustNo, product_id: Item, price: Price}
            constants: {quantity: "1", sell_unit_id: EA}
    """)
    result, staged = export.stage("customer_prices")
    assert staged["organization_number"].tolist() == ["C-1"]  # the first match, and no row doubled
    # No match: the row is not dropped, it is quarantined (needs an account or a price group).
    assert result.rows_quarantined == 1 and result.rows_read == 2


def test_inline_reference_rows_for_a_price_level_and_a_site_the_erp_lacks(export):
    path = export.mapping("""
        sources:
          price_levels:
            rows:
              - {price_level_id: LIST, label: List price}
          sites:
            rows:
              - {site_id: MAIN, name: Main warehouse, country: Holland}
    """)
    _, levels = export.stage("price_levels")
    _, sites = export.stage("sites")
    assert values(levels, "price_level_id", "label") == [("LIST", "List price")]
    assert values(sites, "site_id", "country") == [("MAIN", "NL")]
    assert load_mapping(path).source("sites").row_lines == (8,)  # reported at its line in the mapping


def test_union_of_two_files_filter_and_query(export):
    export.file("products_a.csv", "Code,Title,Status\nP1,Kettle,A\nP2,Toaster,X\n")
    export.file("products_b.csv", "Code,Title,Status\nP3,Whisk,D\n")
    export.file("stock.csv", "Code,Qty\nP1,5\nP3,2\n")
    export.mapping("""
        sources:
          products:
            file: [products_a.csv, products_b.csv]
            filter: "Status <> 'X'"
            columns:
              product_id: Code
              name: Title
              status: {from: Status, map: {A: active, D: discontinued}}
          stock_levels:
            query: |
              SELECT s.Code AS product_id, 'MAIN' AS site_id, s.Qty AS qty_available
              FROM stock s JOIN products p ON p.Code = s.Code
            tables: {stock: stock.csv, products: products_a.csv}
    """)
    result, products = export.stage("products")
    assert values(products, "product_id", "status") == [("P1", "active"), ("P3", "discontinued")]
    assert (result.rows_read, result.rows_valid, result.rows_skipped) == (3, 2, 1)
    _, stock = export.stage("stock_levels")
    assert values(stock, "product_id", "qty_available") == [("P1", 5.0)]


def test_a_refused_file_is_in_the_totals(export):
    export.file("users.csv", "Person,Mail\nU1,a@x.example\nU2,b@x.example\n")
    export.mapping("sources:\n  users: {file: users.csv}\n")
    result, staged = export.stage("users")
    assert staged.empty
    assert (result.rows_read, result.rows_refused, result.rows_failed) == (2, 2, 2)


def test_an_entity_the_mapping_does_not_name_is_not_synced(export):
    export.mapping("sources:\n  price_levels: {rows: [{price_level_id: LIST}]}\n")
    result, staged = export.stage("alternate_codes")
    assert result.not_mapped and staged.empty and "not in the mapping" in result.skipped


@pytest.mark.parametrize("written, code", [
    ("Russia", "RU"), ("Turkey", "TR"), ("Ivory Coast", "CI"), ("Macedonia", "MK"), ("Holland", "NL"),
    ("USA", "US"), ("UK", "GB"), ("Federal Republic of Germany", "DE"), ("deu", "DE"), ("Bharat", "IN"),
])
def test_countries_by_common_or_official_name_code_or_mapping_alias(export, written, code):
    export.mapping(f"""
        country_aliases: {{Bharat: IN}}
        sources:
          sites: {{rows: [{{site_id: S1, country: "{written}"}}]}}
    """)
    _, staged = export.stage("sites")
    assert staged["country"].tolist() == [code]
