"""Canonical column -> ESD field, one table per import type.

Each table maps an ESD field to the canonical column it is read from. How a
value is converted follows from the field's ESD type (bool -> "Y"/"N",
decimal -> exact decimal, "|"-joined list -> list); the few fields that need more
than that (a country name, a fallback account code, a summed quantity) are computed in `mapping.py`.
Only fields with a canonical source appear here, and `data_fields` in
import_types.py lists exactly these (a test keeps the two equal).
"""

from __future__ import annotations

_PRICE = {"keyProductID": "product_id", "keyPriceLevelID": "price_level_id", "keySellUnitID": "sell_unit_id",
          "price": "price", "referenceID": "reference_id", "referenceType": "reference_type", "taxRate": "tax_rate"}
_ACCOUNT = {
    "contactName": "contact_name", "orgName": "org_name", "email": "email", "accountClass": "account_class",
    "territory": "territory", "shippingMethod": "shipping_method", "keyPriceLevelID": "price_level_id",
    "isOnHold": "is_on_hold", "isOutsideTerms": "is_outside_terms", "isOutsideBalance": "is_outside_balance",
    "balance": "balance", "limit": "credit_limit", "termsType": "terms_type", "termsDescription": "terms_description",
}

RECORD_COLUMNS: dict[str, dict[str, str]] = {
    "taxcodes": {"keyTaxcodeID": "tax_code_id", "taxcode": "code", "taxcodePercentageRate": "rate_percent",
                 "taxcodeLabel": "label", "description": "description"},
    "price_levels": {"keyPriceLevelID": "price_level_id", "label": "label"},
    "sell_units": {"keySellUnitID": "sell_unit_id", "sellUnitCode": "code", "sellUnitLabel": "label",
                   "isBaseUnit": "is_base_unit", "baseQuantity": "base_quantity", "parentQuantity": "parent_quantity",
                   "keySellUnitParentID": "parent_sell_unit_id"},
    "payment_types": {"keyPaymentTypeID": "payment_type_id", "paymentTypeCode": "code", "paymentTypeLabel": "label",
                      "description": "description", "paymentMethod": "payment_method"},
    "sales_reps": {"keySalesRepID": "sales_rep_id", "salesRepCode": "code", "name": "name", "contact": "contact",
                   "isIndividual": "is_individual"},
    "purchasers": {"keyPurchaserID": "purchaser_id", "purchaserCode": "code", "name": "name", "contact": "contact",
                   "isIndividual": "is_individual"},
    "surcharges": {"keySurchargeID": "surcharge_id", "surchargeCode": "code", "surchargeLabel": "label",
                   "description": "description", "surchargeType": "surcharge_type"},
    "products": {
        "keyProductID": "product_id", "productCode": "sku", "productSearchCode": "search_code", "name": "name",
        "description1": "description1", "description2": "description2", "description3": "description3",
        "description4": "description4", "keyTaxcodeID": "tax_code_id", "keySellUnitID": "sell_unit_id",
        "stockLowQuantity": "stock_low_quantity", "stockNoneQuantity": "stock_none_quantity", "brand": "brand",
        "barcode": "barcode", "barcodeInner": "barcode_inner", "productClass": "product_class",
        "isPriceTaxInclusive": "is_price_tax_inclusive", "width": "width", "height": "height", "depth": "depth",
        "weight": "weight", "volume": "volume",
    },
    "price_level_unit_prices": dict(_PRICE),
    "price_level_quantity_prices": {**_PRICE, "quantity": "quantity"},
    "customer_account_prices": {
        "keyProductID": "product_id", "keyAccountID": "organization_number", "keyPriceGroupID": "price_group_id",
        "keySellUnitID": "sell_unit_id", "quantity": "quantity", "price": "price", "referenceID": "reference_id",
        "referenceType": "reference_type", "taxRate": "tax_rate",
    },
    "stock_quantities": {"keyProductID": "product_id", "qtyAvailable": "qty_available"},  # summed over sites
    "locations": {
        "keyLocationID": "site_id", "locationCode": "code", "locationName": "name", "locationType": "site_type",
        "isActive": "is_active", "isGeographic": "is_geographic", "latitude": "latitude", "longitude": "longitude",
        "address1": "address1", "address2": "address2", "address3": "city", "region": "region",
        "country": "country", "postcode": "postcode", "contact": "contact", "phone": "phone", "fax": "fax",
        "email": "email", "website": "website",
    },
    "customer_accounts": {
        "keyCustomerAccountID": "organization_number", "customerAccountCode": "account_code",
        "accountName": "organization_name", **_ACCOUNT, "keySalesRepID": "sales_rep_id",
        "keyPaymentTypeIDs": "payment_type_ids", "keyLocationIDs": "site_ids", "onHoldAction": "on_hold_action",
        "outTermsAction": "outside_terms_action", "outCreditAction": "outside_balance_action",
    },
    "supplier_accounts": {
        "keySupplierAccountID": "supplier_account_id", "supplierAccountCode": "account_code",
        "accountName": "account_name", **_ACCOUNT, "keyPurchaserID": "purchaser_id",
    },
    "alternate_codes": {
        "keyProductID": "product_id", "alternateCode": "alternate_code", "isSupplierCode": "is_supplier_code",
        "keySupplierAccountID": "supplier_account_id", "keyCustomerAccountID": "organization_number",
        "isUseCode": "is_use_code",
    },
}

# Nested records: the canonical entity, its column naming the parent record, and its field table.
CHILD_COLUMNS: dict[str, tuple[str, str, dict[str, str]]] = {
    "products": ("product_sell_units", "product_id", {
        "keySellUnitID": "sell_unit_id", "baseQuantity": "base_quantity", "parentQuantity": "parent_quantity",
        "sellUnitLabel": "label", "isPricedOffBaseUnit": "is_priced_off_base_unit",
        "keySellUnitParentID": "parent_sell_unit_id",
    }),
    "locations": ("stock_levels", "site_id", {
        "keyProductID": "product_id", "qtyAvailable": "qty_available", "qtyOnHand": "qty_on_hand",
        "qtyOrdered": "qty_ordered", "qtyBackordered": "qty_backordered", "qtyReserved": "qty_reserved",
        "qtyConsigned": "qty_consigned",
    }),
}
