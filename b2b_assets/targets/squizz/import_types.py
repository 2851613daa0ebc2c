"""The 16 SQUIZZ.com ESD import types as data.

One frozen spec per import type: its id (VENDOR_API_NOTES.md wins over the
seed's examples: quantity pricing is 6, sell units 28), the key fields that
identify a record, the fields this project manages (`configs.dataFields`),
what it reads from the canonical model, the references that decide import
order, and the seed's field table (type, max length, mandatory, enum values).

The references encode every ordering the seed's "Tips and Recommendations"
ask for; the Dagster wiring derives asset dependencies from them and the
outbound core holds a record whose reference the target does not have yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EsdType(StrEnum):
    STRING = "STRING"
    DECIMAL = "DECIMAL"
    LONG = "LONG"
    YN = "YN"  # ENUM('Y','N') in the seed, sent as the strings "Y"/"N"
    ENUM = "ENUM"
    ARRAY = "ARRAY"


@dataclass(frozen=True)
class FieldSpec:
    """One row of a seed field table."""

    type: EsdType
    max_length: int | None = None  # characters for STRING; None where the seed gives no limit
    mandatory: bool = False
    choices: tuple[str, ...] = ()
    precision: tuple[int, int] | None = None  # DECIMAL (digits, scale): 14.4 unless the seed says otherwise
    positive: bool = False  # DECIMAL: SQUIZZ refuses zero and below (prices)


@dataclass(frozen=True)
class PayloadReference:
    """A payload field holding the key of a record of another import type.

    `in_child`: the field sits in the nested records (sellUnits / productStock).
    `many`: the field holds a list of keys.
    """

    field: str
    import_type: str
    in_child: bool = False
    many: bool = False


@dataclass(frozen=True)
class ImportType:
    name: str
    type_id: int
    key_fields: tuple[str, ...]
    data_fields: tuple[str, ...]  # what goes into configs.dataFields (dataFieldsLocation for locations)
    source_entities: tuple[str, ...]  # canonical entities read; the first is the primary one
    field_limits: dict[str, FieldSpec]
    references: tuple[PayloadReference, ...] = ()
    child_field: str | None = None
    child_data_fields: tuple[str, ...] = ()  # locations: configs.dataFieldsLocationStock
    child_field_limits: dict[str, FieldSpec] = field(default_factory=dict)
    one_of: tuple[tuple[str, ...], ...] = ()  # "Conditional" fields: at least one of each group must be set

    @property
    def record_fields(self) -> tuple[str, ...]:
        """Data fields that are columns of the mapped records (the nested child array is not)."""
        return tuple(f for f in self.data_fields if f != self.child_field)

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Import types that must be imported first, excluding self-references (resolved within a document)."""
        seen: list[str] = []
        for ref in self.references:
            if ref.import_type != self.name and ref.import_type not in seen:
                seen.append(ref.import_type)
        return tuple(seen)


# --- seed table helpers -----------------------------------------------------------------------------------------

def _s(max_length: int | None = 50, mandatory: bool = False) -> FieldSpec:
    return FieldSpec(EsdType.STRING, max_length, mandatory)


def _key() -> FieldSpec:
    return FieldSpec(EsdType.STRING, 50, True)


def _d(mandatory: bool = False, precision: tuple[int, int] = (14, 4), positive: bool = False) -> FieldSpec:
    return FieldSpec(EsdType.DECIMAL, None, mandatory, precision=precision, positive=positive)


def _yn() -> FieldSpec:
    return FieldSpec(EsdType.YN, 1, choices=("Y", "N"))


def _enum(*choices: str) -> FieldSpec:
    return FieldSpec(EsdType.ENUM, max(map(len, choices)), choices=choices)


def _array() -> FieldSpec:
    return FieldSpec(EsdType.ARRAY)


ACCOUNT_ACTIONS = ("OFF", "WARN", "WARNCC", "BLOCK")
TERMS_TYPES = ("NA", "GND", "DOM", "NDAE", "DMAE", "COD")  # the seed's list plus COD from the notes
LOCATION_TYPES = ("WAREHOUSE", "STORE", "SITE", "OFFICE", "HEAD_OFFICE", "THIRD_PARTY", "OTHER")
PAYMENT_METHODS = ("UNPAID", "CREDITCARD", "COD", "DIRECTDEPOSIT", "QUOTE", "PROPRIETARY", "ACCOUNT", "NONE")
SURCHARGE_TYPES = ("FREIGHT", "CREDITCARD", "MINORDER", "OTHER")
PRODUCT_CONDITIONS = ("UK", "N", "UE", "UG", "UA", "UP", "RFS", "RFM", "D")
REFERENCE_TYPES = ("C", "CF", "P")  # price referenceType: contract, forced contract, promotion
# A STRING(50) in the seed's table, but the notes list its only values; the hub takes any code.
_REFERENCE_TYPE = FieldSpec(EsdType.STRING, 50, choices=REFERENCE_TYPES)

PRICE_FIELDS = {
    "keyProductID": _key(), "keyPriceLevelID": _key(), "keySellUnitID": _key(),
    "price": _d(mandatory=True, positive=True), "referenceID": _s(), "referenceType": _REFERENCE_TYPE,
    "taxRate": _d(),
}
ACCOUNT_FIELDS = {
    "accountName": _s(255), "contactName": _s(80), "orgName": _s(80), "email": _s(80), "accountClass": _s(),
    "territory": _s(), "shippingMethod": _s(), "keyPriceLevelID": _s(),
    "isOnHold": _yn(), "isOutsideTerms": _yn(), "isOutsideBalance": _yn(), "balance": _d(), "limit": _d(),
    "termsType": _enum(*TERMS_TYPES), "termsDescription": _s(),
}
ACCOUNT_DATA_FIELDS = (
    "accountName", "contactName", "orgName", "email", "accountClass", "territory", "shippingMethod",
    "keyPriceLevelID", "isOnHold", "isOutsideTerms", "isOutsideBalance", "balance", "limit", "termsType",
    "termsDescription",
)

TAXCODES = ImportType(
    "taxcodes", 1, ("keyTaxcodeID",),
    ("keyTaxcodeID", "taxcode", "taxcodePercentageRate", "taxcodeLabel", "description"),
    ("taxcodes",),
    {"keyTaxcodeID": _key(), "taxcode": _s(), "taxcodePercentageRate": _d(), "taxcodeLabel": _s(80),
     "description": _s()},
)

PRICE_LEVELS = ImportType(
    "price_levels", 2, ("keyPriceLevelID",), ("keyPriceLevelID", "label"), ("price_levels",),
    {"keyPriceLevelID": _key(), "label": _s(100)},
)

SELL_UNITS = ImportType(
    "sell_units", 28, ("keySellUnitID",),
    ("keySellUnitID", "sellUnitCode", "sellUnitLabel", "isBaseUnit", "baseQuantity", "parentQuantity",
     "keySellUnitParentID"),
    ("sell_units",),
    {"keySellUnitID": _key(), "sellUnitCode": _s(), "sellUnitLabel": _s(), "baseQuantity": _d(),
     "parentQuantity": _d(), "isBaseUnit": _yn(), "keySellUnitParentID": _s()},
    # A self-reference: parents travel in the same document or earlier; no asset dependency.
    references=(PayloadReference("keySellUnitParentID", "sell_units"),),
)

PAYMENT_TYPES = ImportType(
    "payment_types", 27, ("keyPaymentTypeID",),
    ("keyPaymentTypeID", "paymentTypeCode", "paymentTypeLabel", "description", "paymentMethod"),
    ("payment_types",),
    {"keyPaymentTypeID": _key(), "paymentTypeCode": _s(), "paymentTypeLabel": _s(), "description": _s(100),
     "paymentMethod": _enum(*PAYMENT_METHODS)},
)

SALES_REPS = ImportType(
    "sales_reps", 16, ("keySalesRepID",),
    ("keySalesRepID", "salesRepCode", "name", "contact", "isIndividual"),
    ("sales_reps",),
    # The seed gives no max length for name and contact.
    {"keySalesRepID": _key(), "salesRepCode": _s(), "name": _s(None), "contact": _s(None), "isIndividual": _yn()},
)

PURCHASERS = ImportType(
    "purchasers", 25, ("keyPurchaserID",),
    ("keyPurchaserID", "purchaserCode", "name", "contact", "isIndividual"),
    ("purchasers",),
    {"keyPurchaserID": _key(), "purchaserCode": _s(100), "name": _s(100), "contact": _s(), "isIndividual": _yn()},
)

SURCHARGES = ImportType(
    "surcharges", 26, ("keySurchargeID",),
    ("keySurchargeID", "surchargeCode", "surchargeLabel", "description", "surchargeType"),
    ("surcharges",),
    {"keySurchargeID": _key(), "surchargeCode": _s(), "surchargeLabel": _s(), "description": _s(100),
     "surchargeType": _enum(*SURCHARGE_TYPES)},
)

PRODUCTS = ImportType(
    "products", 3, ("keyProductID",),
    # stockQuantity is left to the lighter stock-quantities import (type 10), as the seed recommends.
    ("keyProductID", "productCode", "productSearchCode", "name", "description1", "description2", "description3",
     "description4", "keyTaxcodeID", "keySellUnitID", "stockLowQuantity", "stockNoneQuantity", "brand", "barcode",
     "barcodeInner", "productClass", "isPriceTaxInclusive", "width", "height", "depth", "weight", "volume",
     "sellUnits"),
    ("products", "product_sell_units"),
    {"keyProductID": _key(), "productCode": _s(), "productSearchCode": _s(255), "name": _s(255),
     "description1": _s(65535), "description2": _s(65535), "description3": _s(65535), "description4": _s(65535),
     "keyTaxcodeID": _s(), "keySellUnitID": _s(), "stockQuantity": _d(), "stockLowQuantity": _d(),
     "stockNoneQuantity": _d(), "brand": _s(), "barcode": _s(), "barcodeInner": _s(), "productClass": _s(),
     "isPriceTaxInclusive": _yn(), "condition": _enum(*PRODUCT_CONDITIONS),
     "conditionNewDateTime": FieldSpec(EsdType.LONG, 20), "conditionDateTime": FieldSpec(EsdType.LONG, 20),
     "width": _d(), "height": _d(), "depth": _d(), "weight": _d(), "volume": _d(), "sellUnits": _array()},
    references=(
        PayloadReference("keyTaxcodeID", "taxcodes"),
        PayloadReference("keySellUnitID", "sell_units"),
        PayloadReference("keySellUnitID", "sell_units", in_child=True),
        PayloadReference("keySellUnitParentID", "sell_units", in_child=True),
    ),
    child_field="sellUnits",
    child_data_fields=("keySellUnitID", "baseQuantity", "parentQuantity", "sellUnitLabel", "isPricedOffBaseUnit",
                       "keySellUnitParentID"),
    child_field_limits={"keySellUnitID": _key(), "baseQuantity": _d(mandatory=True), "parentQuantity": _d(),
                        "sellUnitLabel": _s(), "isPricedOffBaseUnit": _yn(), "keySellUnitParentID": _s()},
)

_PRICE_REFERENCES = (
    PayloadReference("keyProductID", "products"),
    PayloadReference("keyPriceLevelID", "price_levels"),
    PayloadReference("keySellUnitID", "sell_units"),
)

PRICE_LEVEL_UNIT_PRICES = ImportType(
    "price_level_unit_prices", 4, ("keyProductID", "keyPriceLevelID", "keySellUnitID"),
    ("keyProductID", "keyPriceLevelID", "keySellUnitID", "price", "referenceID", "referenceType", "taxRate"),
    ("unit_prices",),
    dict(PRICE_FIELDS),
    references=_PRICE_REFERENCES,
)

PRICE_LEVEL_QUANTITY_PRICES = ImportType(
    "price_level_quantity_prices", 6, ("keyProductID", "keyPriceLevelID", "keySellUnitID", "quantity"),
    ("keyProductID", "keyPriceLevelID", "keySellUnitID", "quantity", "price", "referenceID", "referenceType",
     "taxRate"),
    ("quantity_prices",),
    {**PRICE_FIELDS, "quantity": _d(mandatory=True)},
    references=_PRICE_REFERENCES,
)

STOCK_QUANTITIES = ImportType(
    "stock_quantities", 10, ("keyProductID",), ("keyProductID", "qtyAvailable"), ("stock_levels",),
    {"keyProductID": _key(), "qtyAvailable": _d(mandatory=True)},
    references=(PayloadReference("keyProductID", "products"),),
)

LOCATIONS = ImportType(
    "locations", 23, ("keyLocationID",),
    ("keyLocationID", "locationCode", "locationName", "locationType", "isActive", "isGeographic", "latitude",
     "longitude", "address1", "address2", "address3", "region", "country", "postcode", "contact", "phone", "fax",
     "email", "website"),
    ("sites", "stock_levels"),
    {"keyLocationID": _key(), "locationCode": _s(), "locationName": _s(), "isGeographic": _yn(), "isActive": _yn(),
     "latitude": _d(precision=(14, 6)), "longitude": _d(precision=(14, 6)), "address1": _s(90),
     "address2": _s(90), "address3": _s(90), "region": _s(70), "country": _s(70), "postcode": _s(30),
     "contact": _s(), "phone": _s(45), "fax": _s(45), "productStock": _array(),
     # Not in the seed's table but in its example record and the notes' enumerations; no length given.
     "email": _s(None), "website": _s(None), "locationType": _enum(*LOCATION_TYPES)},
    references=(PayloadReference("keyProductID", "products", in_child=True),),
    child_field="productStock",
    child_data_fields=("keyProductID", "qtyAvailable", "qtyOnHand", "qtyOrdered", "qtyBackordered", "qtyReserved",
                       "qtyConsigned"),
    child_field_limits={"keyProductID": _key(), "qtyAvailable": _d(mandatory=True), "qtyBackordered": _d(),
                        "qtyConsigned": _d(), "qtyOnHand": _d(), "qtyOrdered": _d(), "qtyReserved": _d()},
)

CUSTOMER_ACCOUNTS = ImportType(
    "customer_accounts", 17, ("keyCustomerAccountID",),
    ("keyCustomerAccountID", "customerAccountCode", *ACCOUNT_DATA_FIELDS, "keySalesRepID", "keyPaymentTypeIDs",
     "keyLocationIDs", "onHoldAction", "outTermsAction", "outCreditAction"),
    ("organizations",),
    {"keyCustomerAccountID": _key(), "customerAccountCode": _s(100, mandatory=True), **ACCOUNT_FIELDS,
     "keySalesRepID": _s(), "keyPaymentTypeIDs": _array(), "keyLocationIDs": _array(),
     "onHoldAction": _enum(*ACCOUNT_ACTIONS), "outTermsAction": _enum(*ACCOUNT_ACTIONS),
     "outCreditAction": _enum(*ACCOUNT_ACTIONS)},
    references=(
        PayloadReference("keyPriceLevelID", "price_levels"),
        PayloadReference("keySalesRepID", "sales_reps"),
        PayloadReference("keyPaymentTypeIDs", "payment_types", many=True),
        PayloadReference("keyLocationIDs", "locations", many=True),
    ),
)

SUPPLIER_ACCOUNTS = ImportType(
    "supplier_accounts", 18, ("keySupplierAccountID",),
    ("keySupplierAccountID", "supplierAccountCode", *ACCOUNT_DATA_FIELDS, "keyPurchaserID"),
    ("supplier_accounts",),
    {"keySupplierAccountID": _key(), "supplierAccountCode": _s(100, mandatory=True), **ACCOUNT_FIELDS,
     "keyPurchaserID": _s()},
    references=(
        PayloadReference("keyPriceLevelID", "price_levels"),
        PayloadReference("keyPurchaserID", "purchasers"),
    ),
)

# Not an ESD field: the member accounts of the record's price group, carried in the records so that
# (a) the planner holds the price until those accounts exist and (b) a membership change changes the hash.
PRICE_GROUP_ACCOUNTS = "_priceGroupAccountIDs"

CUSTOMER_ACCOUNT_PRICES = ImportType(
    "customer_account_prices", 7, ("keyProductID", "keyAccountID", "keyPriceGroupID", "keySellUnitID", "quantity"),
    ("keyProductID", "keyAccountID", "keyPriceGroupID", "keySellUnitID", "quantity", "price", "referenceID",
     "referenceType", "taxRate"),
    ("customer_prices", "price_group_members"),
    {"keyProductID": _key(), "keyAccountID": _s(), "keyPriceGroupID": _s(), "keySellUnitID": _key(),
     "price": _d(mandatory=True, positive=True), "quantity": _d(mandatory=True), "referenceID": _s(),
     "referenceType": _REFERENCE_TYPE, "taxRate": _d()},
    references=(
        PayloadReference("keyProductID", "products"),
        PayloadReference("keyAccountID", "customer_accounts"),
        PayloadReference(PRICE_GROUP_ACCOUNTS, "customer_accounts", many=True),
        PayloadReference("keySellUnitID", "sell_units"),
    ),
    one_of=(("keyAccountID", "keyPriceGroupID"),),
)

ALTERNATE_CODES = ImportType(
    "alternate_codes", 9, ("keyProductID", "alternateCode"),
    ("keyProductID", "alternateCode", "isSupplierCode", "keySupplierAccountID", "keyCustomerAccountID", "isUseCode"),
    ("alternate_codes",),
    {"keyProductID": _key(), "alternateCode": _s(mandatory=True), "isSupplierCode": _yn(),
     "keySupplierAccountID": _s(), "keyCustomerAccountID": _s(), "isUseCode": _yn()},
    references=(
        PayloadReference("keyProductID", "products"),
        PayloadReference("keySupplierAccountID", "supplier_accounts"),
        PayloadReference("keyCustomerAccountID", "customer_accounts"),
    ),
)

# In an order that satisfies every reference (a test checks it), so a plain loop imports them correctly.
IMPORT_TYPES: tuple[ImportType, ...] = (
    TAXCODES, PRICE_LEVELS, SELL_UNITS, PAYMENT_TYPES, SALES_REPS, PURCHASERS, SURCHARGES, PRODUCTS,
    PRICE_LEVEL_UNIT_PRICES, PRICE_LEVEL_QUANTITY_PRICES, STOCK_QUANTITIES, LOCATIONS, CUSTOMER_ACCOUNTS,
    SUPPLIER_ACCOUNTS, CUSTOMER_ACCOUNT_PRICES, ALTERNATE_CODES,
)
_BY_NAME = {t.name: t for t in IMPORT_TYPES}


def import_type(name: str) -> ImportType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no SQUIZZ import type {name!r}; known: {', '.join(_BY_NAME)}") from None


def _check_consistency() -> None:
    """Fail at import time if a spec contradicts itself (cheap, and keeps typos out of the wire format)."""
    for spec in IMPORT_TYPES:
        for name in (*spec.key_fields, *spec.data_fields):
            if name not in spec.field_limits:
                raise ValueError(f"{spec.name}: {name!r} is not in its field table")
        for name in spec.child_data_fields:
            if name not in spec.child_field_limits:
                raise ValueError(f"{spec.name}: child field {name!r} is not in its field table")
        for ref in spec.references:
            if ref.import_type not in _BY_NAME:
                raise ValueError(f"{spec.name}: reference to unknown import type {ref.import_type!r}")


_check_consistency()
