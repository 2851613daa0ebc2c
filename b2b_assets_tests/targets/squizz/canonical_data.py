"""A small, valid canonical data set touching every field the SQUIZZ mapping reads (shared by the tests)."""

from __future__ import annotations

import pandas as pd

from b2b_assets.model import entity
from b2b_assets.model.frames import cast_frame


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    return cast_frame(entity(name), pd.DataFrame(rows))


def canonical_frames() -> dict[str, pd.DataFrame]:
    """A small, valid canonical data set touching every SQUIZZ field we map."""
    return {
        "taxcodes": frame("taxcodes", [
            {"tax_code_id": "GST", "code": "GST", "rate_percent": 10, "label": "Goods and Services",
             "description": "GST 10%"},
            {"tax_code_id": "FREE", "code": "FRE", "rate_percent": 0}]),
        "price_levels": frame("price_levels", [{"price_level_id": "PL1", "label": "Trade"},
                                               {"price_level_id": "PL2"}]),
        "sell_units": frame("sell_units", [
            {"sell_unit_id": "EA", "code": "EA", "label": "Each", "is_base_unit": True, "base_quantity": 1},
            {"sell_unit_id": "PK", "code": "PK", "label": "Pack", "is_base_unit": False, "base_quantity": 6,
             "parent_quantity": 6, "parent_sell_unit_id": "EA"}]),
        "sales_reps": frame("sales_reps", [
            {"sales_rep_id": "R1", "code": "JD", "name": "Jane Doe", "contact": "Jane", "email": "j@example.com",
             "is_individual": True}]),
        "payment_types": frame("payment_types", [
            {"payment_type_id": "CC", "code": "CC", "label": "Card", "payment_method": "CREDITCARD"},
            {"payment_type_id": "AC", "code": "AC", "label": "On account", "description": "Monthly",
             "payment_method": "ACCOUNT"}]),
        "surcharges": frame("surcharges", [
            {"surcharge_id": "FR", "code": "FREIGHT", "label": "Freight", "description": "Delivery",
             "surcharge_type": "FREIGHT"}]),
        "purchasers": frame("purchasers", [
            {"purchaser_id": "PU1", "code": "PU1", "name": "Buying team", "contact": "Sam", "is_individual": False}]),
        "sites": frame("sites", [
            {"site_id": "W1", "code": "MEL", "name": "Melbourne warehouse", "site_type": "WAREHOUSE",
             "is_active": True, "is_geographic": True, "latitude": -37.81, "longitude": 144.96,
             "address1": "234", "address2": "Bourke Street", "city": "Melbourne", "region": "Victoria",
             "country": "AU", "postcode": "3000", "contact": "Max", "phone": "+61 3 0000", "fax": "+61 3 0001",
             "email": "w1@example.com", "website": "www.example.com"},
            {"site_id": "S2", "name": "Shop", "site_type": "STORE", "country": "GB"}]),
        "products": frame("products", [
            {"product_id": "P1", "sku": "SKU-1", "search_code": "green-paper", "name": "Green paper",
             "description1": "Recycled", "tax_code_id": "GST", "sell_unit_id": "EA", "brand": "Swisho",
             "barcode": "0342", "barcode_inner": "234", "product_class": "paper", "is_price_tax_inclusive": False,
             "stock_low_quantity": 10, "stock_none_quantity": 0, "width": 21, "height": 29.7, "depth": 1,
             "weight": 2.5, "volume": 0.1},
            {"product_id": "P2", "name": "Blue paper", "is_price_tax_inclusive": True}]),
        "product_sell_units": frame("product_sell_units", [
            {"product_id": "P1", "sell_unit_id": "EA", "label": "Each", "base_quantity": 1,
             "is_priced_off_base_unit": False},
            {"product_id": "P1", "sell_unit_id": "PK", "label": "Pack of 6", "base_quantity": 6, "parent_quantity": 6,
             "parent_sell_unit_id": "EA", "is_priced_off_base_unit": True}]),
        "unit_prices": frame("unit_prices", [
            {"product_id": "P1", "price_level_id": "PL1", "sell_unit_id": "EA", "price": 10.5},
            {"product_id": "P1", "price_level_id": "PL1", "sell_unit_id": "PK", "price": 60, "reference_id": "PROMO",
             "reference_type": "P", "tax_rate": 10}]),
        "quantity_prices": frame("quantity_prices", [
            {"product_id": "P1", "price_level_id": "PL1", "sell_unit_id": "EA", "quantity": 10, "price": 9},
            {"product_id": "P1", "price_level_id": "PL1", "sell_unit_id": "EA", "quantity": 20.5, "price": 8}]),
        "organizations": frame("organizations", [
            {"organization_number": "C1", "organization_name": "Acme " + "x" * 195, "account_code": "ACME",
             "contact_name": "Wile", "org_name": "Acme Pty", "email": "acme@example.com", "account_class": "VIP",
             "territory": "East", "shipping_method": "Truck", "price_level_id": "PL1", "sales_rep_id": "R1",
             "payment_type_ids": "CC|AC", "site_ids": "W1|S2", "is_on_hold": False, "on_hold_action": "WARN",
             "is_outside_terms": True, "outside_terms_action": "BLOCK", "is_outside_balance": False,
             "outside_balance_action": "OFF", "balance": -100.25, "credit_limit": 1000, "terms_type": "GND",
             "terms_description": "30 days", "phone": "123", "status": "active"},
            {"organization_number": "C2", "organization_name": "Beta"}]),
        "price_groups": frame("price_groups", [{"price_group_id": "G1", "label": "Contract A"}]),
        "price_group_members": frame("price_group_members", [
            {"price_group_id": "G1", "organization_number": "C2"},
            {"price_group_id": "G1", "organization_number": "C1"}]),
        "customer_prices": frame("customer_prices", [
            {"product_id": "P1", "organization_number": "C1", "sell_unit_id": "EA", "quantity": 1, "price": 7.3,
             "reference_id": "K1", "reference_type": "CF"},
            {"product_id": "P2", "price_group_id": "G1", "sell_unit_id": "EA", "quantity": 5, "price": 3.3}]),
        "supplier_accounts": frame("supplier_accounts", [
            {"supplier_account_id": "SUP1", "account_code": "SUP001", "account_name": "Suppliers Inc",
             "org_name": "Suppliers Inc", "email": "s@example.com", "price_level_id": "PL1", "purchaser_id": "PU1",
             "contact_name": "John", "is_on_hold": False, "balance": 1000, "credit_limit": 0, "terms_type": "DOM"}]),
        "alternate_codes": frame("alternate_codes", [
            {"product_id": "P1", "alternate_code": "SWISH-1", "is_supplier_code": True,
             "supplier_account_id": "SUP1", "is_use_code": False},
            {"product_id": "P1", "alternate_code": "CUST-9", "organization_number": "C1"}]),
        "stock_levels": frame("stock_levels", [
            {"site_id": "W1", "product_id": "P1", "qty_available": 10.1, "qty_on_hand": 12, "qty_ordered": 1,
             "qty_backordered": 0, "qty_reserved": 1, "qty_consigned": 0},
            {"site_id": "S2", "product_id": "P1", "qty_available": 0.2},
            {"site_id": "W1", "product_id": "P2", "qty_available": -4}]),
    }
