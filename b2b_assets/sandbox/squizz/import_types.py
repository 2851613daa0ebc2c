"""The SQUIZZ import types as data: field tables, keys and references.

Sources: the seed `004_9903b35e205965a7.txt` (one field table per import type: name, data
type, mandatory, default, max length) and `VENDOR_API_NOTES.md` (import type ids, extra
record fields, enumerations). Where they disagree the notes win (type 6 is quantity
pricing, type 28 is sell units).

Fields beyond the seed's tables, and why they are accepted:

- every record: `internalID` and `drop` (notes, "record conventions").
- sell units: `minOrderQuantity`, `incrementOrderQuantity`, `isPricedOffBaseUnit`, the
  dimensions and weights and their unit codes (notes).
- locations: `locationType` (notes); `email` and `website` (the vendor's Java
  `ESDRecordLocation` declares both, and the seed's own locations example sends them).
- customer/supplier accounts, products: the fields the seed's own example documents list
  in `dataFields` (`authorityNumbers`, `paymentTypes`, `discount`, `termsValue1`,
  `supplier`, ...). Their lengths are not documented, so they have none.

A length the seed leaves blank (sales rep `name`, `contact`) is not limited. Nothing
else is accepted: a record (or a nested sell unit or stock line) carrying a field its
table lacks is refused, as the platform's own field tables refuse it. That includes the
seed's own products example, which sends `"unit": "REAM"` and a numeric `keySellUnitID`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

STRING = "STRING"
DECIMAL = "DECIMAL"
LONG_INTEGER = "LONG INTEGER"
EPOCH_MS = "LONG INTEGER (epoch ms)"  # a date: milliseconds since 1970-01-01 UTC
ENUM = "ENUM"
STRING_LIST = "ARRAY(STRING)"
INTEGER_LIST = "ARRAY(INTEGER)"
RECORD_LIST = "ARRAY(RECORD)"

# ESD record operations carried in `drop` (notes).
DROP_NONE, DROP_INSERT, DROP_UPDATE, DROP_DELETE, DROP_IGNORE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class FieldSpec:
    """One row of a seed field table.

    `default` is what the platform stores when the field is listed in `dataFields` but the
    record leaves it out. DECIMAL fields have `integer_digits`/`decimal_places` (14.4 is
    10 and 4); `positive` and `bounds` are value rules the seed states in prose.
    """

    kind: str
    max_length: int | None = None
    mandatory: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    integer_digits: int = 10
    decimal_places: int = 4
    positive: bool = False
    bounds: tuple[float, float] | None = None
    nested: Mapping[str, "FieldSpec"] | None = None


def string(max_length: int | None = 50, *, mandatory: bool = False, default: str | None = "") -> FieldSpec:
    return FieldSpec(STRING, max_length=max_length, mandatory=mandatory, default=default)


def decimal(
    *,
    mandatory: bool = False,
    default: float | None = 0,
    positive: bool = False,
    decimal_places: int = 4,
    bounds: tuple[float, float] | None = None,
) -> FieldSpec:
    return FieldSpec(
        DECIMAL,
        mandatory=mandatory,
        default=default,
        positive=positive,
        integer_digits=14 - decimal_places,
        decimal_places=decimal_places,
        bounds=bounds,
    )


def long_integer(default: int = 0, bounds: tuple[float, float] | None = None) -> FieldSpec:
    return FieldSpec(LONG_INTEGER, max_length=20, default=default, bounds=bounds)


def epoch_ms() -> FieldSpec:
    """A date as the seed writes it: a long integer of epoch milliseconds, 0 when unset."""
    return FieldSpec(EPOCH_MS, max_length=20, default=0)


def enum(*choices: str, default: str) -> FieldSpec:
    return FieldSpec(ENUM, max_length=max(map(len, choices)), choices=choices, default=default)


def yes_no(default: str = "N") -> FieldSpec:
    return enum("Y", "N", default=default)


def string_list(max_length: int | None = 50) -> FieldSpec:
    return FieldSpec(STRING_LIST, max_length=max_length, default=[])


def integer_list() -> FieldSpec:
    return FieldSpec(INTEGER_LIST, default=[])


def record_list(**fields: FieldSpec) -> FieldSpec:
    return FieldSpec(RECORD_LIST, default=[], nested=MappingProxyType(fields))


@dataclass(frozen=True)
class Mirror:
    """An import that also updates another type's record, e.g. stock quantities → product."""

    via: str
    target_type_id: int
    fields: Mapping[str, str]


@dataclass(frozen=True)
class ImportType:
    """One import type: its field table, upsert key and references to other types.

    `references` maps a field (scalar or list of ids) to the import type it points at.
    `nested_key` names, per nested record list, the field identifying an entry;
    `nested_references` maps nested fields to the type they point at.
    `fields_config`/`nested_fields_config` name the `configs` attributes listing the
    fields an upload manages (locations use their own pair of names).
    `one_of` lists groups of fields of which at least one must be set.
    `price_group_member_type` is set for types whose documents carry `priceGroups`: the
    import type the groups' member ids point at.
    """

    type_id: int
    name: str
    fields: Mapping[str, FieldSpec]
    key: tuple[str, ...]
    references: Mapping[str, int] = field(default_factory=dict)
    nested_key: Mapping[str, str] = field(default_factory=dict)
    nested_references: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fields_config: str = "dataFields"
    nested_fields_config: str | None = None
    one_of: tuple[tuple[str, ...], ...] = ()
    mirror: Mirror | None = None
    price_group_member_type: int | None = None

    def display_key(self, record: Mapping[str, Any]) -> str:
        """`keyProductID=P-1, keySellUnitID=EA`: the key values a record carries."""
        return ", ".join(f"{name}={record[name]}" for name in self.key if record.get(name) not in (None, ""))


COMMON_FIELDS = {
    "internalID": string(None),
    "drop": long_integer(DROP_NONE, bounds=(DROP_NONE, DROP_IGNORE)),
}

TERMS_TYPES = ("NA", "GND", "DOM", "NDAE", "DMAE")
ACCOUNT_ACTIONS = ("OFF", "WARN", "WARNCC", "BLOCK")
REFERENCE_TYPES = ("C", "CF", "P")
LOCATION_TYPES = ("WAREHOUSE", "STORE", "SITE", "OFFICE", "HEAD_OFFICE", "THIRD_PARTY", "OTHER")
PAYMENT_METHODS = ("UNPAID", "CREDITCARD", "COD", "DIRECTDEPOSIT", "QUOTE", "PROPRIETARY", "ACCOUNT", "NONE")
SURCHARGE_TYPES = ("FREIGHT", "CREDITCARD", "MINORDER", "OTHER")
CONDITIONS = ("UK", "N", "UE", "UG", "UA", "UP", "RFS", "RFM", "D")

# Taxcode, price level, product, sell unit ... ids, for the reference tables below.
TAXCODES, PRICE_LEVELS, PRODUCTS, UNIT_PRICES = 1, 2, 3, 4
QUANTITY_PRICES, CUSTOMER_ACCOUNT_PRICES, ALTERNATE_CODES, STOCK_QUANTITIES = 6, 7, 9, 10
SALES_REPS, CUSTOMER_ACCOUNTS, SUPPLIER_ACCOUNTS, LOCATIONS = 16, 17, 18, 23
PURCHASERS, SURCHARGES, PAYMENT_TYPES, SELL_UNITS = 25, 26, 27, 28


def _price_fields(**extra: FieldSpec) -> dict[str, FieldSpec]:
    return {
        "keyProductID": string(mandatory=True),
        **extra,
        "keySellUnitID": string(mandatory=True),
        "price": decimal(mandatory=True, positive=True),
        "referenceID": string(),
        "referenceType": enum(*REFERENCE_TYPES, default=""),
        "taxRate": decimal(default=None),
    }


def _account_fields(code_field: str) -> dict[str, FieldSpec]:
    """Fields customer and supplier accounts share (seed tables plus example extras)."""
    return {
        code_field: string(100, mandatory=True),
        "accountName": string(255),
        "contactName": string(80),
        "orgName": string(80),
        "email": string(80),
        "accountClass": string(),
        "territory": string(),
        "shippingMethod": string(),
        "keyPriceLevelID": string(default=None),
        "isOnHold": yes_no(),
        "isOutsideTerms": yes_no(),
        "isOutsideBalance": yes_no(),
        "balance": decimal(),
        "limit": decimal(),
        "termsDescription": string(),
        "authorityNumbers": string_list(None),
        "authorityNumberLabels": string_list(None),
        "authorityNumberTypes": integer_list(),
        "paymentTypes": string(None),
    }


def _import_type(type_id: int, name: str, key: tuple[str, ...], fields: dict[str, FieldSpec], **options: Any) -> ImportType:
    return ImportType(
        type_id=type_id,
        name=name,
        key=key,
        fields=MappingProxyType({**fields, **COMMON_FIELDS}),
        **options,
    )


SELL_UNIT_ON_PRODUCT = record_list(
    keySellUnitID=string(mandatory=True),
    baseQuantity=decimal(mandatory=True, default=1, positive=True),
    parentQuantity=decimal(),
    sellUnitLabel=string(),
    isPricedOffBaseUnit=yes_no(),
    keySellUnitParentID=string(),
)

STOCK_AT_LOCATION = record_list(
    keyProductID=string(mandatory=True),
    qtyAvailable=decimal(mandatory=True),
    qtyBackordered=decimal(),
    qtyConsigned=decimal(),
    qtyOnHand=decimal(),
    qtyOrdered=decimal(),
    qtyReserved=decimal(),
)

_TYPES = (
    _import_type(TAXCODES, "taxcodes", ("keyTaxcodeID",), {
        "keyTaxcodeID": string(mandatory=True),
        "taxcode": string(),
        "taxcodePercentageRate": decimal(),
        "taxcodeLabel": string(80),
        "description": string(),
    }),
    _import_type(PRICE_LEVELS, "price_levels", ("keyPriceLevelID",), {
        "keyPriceLevelID": string(mandatory=True),
        "label": string(100),
    }),
    _import_type(PRODUCTS, "products", ("keyProductID",), {
        "keyProductID": string(mandatory=True),
        "productCode": string(),
        "productSearchCode": string(255),
        "name": string(255),
        "description1": string(65535),
        "description2": string(65535),
        "description3": string(65535),
        "description4": string(65535),
        "keyTaxcodeID": string(),
        "keySellUnitID": string(),
        "stockQuantity": decimal(),
        "stockLowQuantity": decimal(),
        "stockNoneQuantity": decimal(),
        "brand": string(),
        "barcode": string(),
        "barcodeInner": string(),
        "productClass": string(),
        "isPriceTaxInclusive": yes_no(),
        "condition": enum(*CONDITIONS, default="UK"),
        "conditionNewDateTime": epoch_ms(),
        "conditionDateTime": epoch_ms(),
        "width": decimal(),
        "height": decimal(),
        "depth": decimal(),
        "weight": decimal(),
        "volume": decimal(),
        "supplier": string(None),
        "sellUnits": SELL_UNIT_ON_PRODUCT,
    },
        references={"keyTaxcodeID": TAXCODES, "keySellUnitID": SELL_UNITS},
        nested_key={"sellUnits": "keySellUnitID"},
        nested_references={"sellUnits": {"keySellUnitID": SELL_UNITS, "keySellUnitParentID": SELL_UNITS}},
    ),
    _import_type(UNIT_PRICES, "price_level_unit_prices", ("keyProductID", "keyPriceLevelID", "keySellUnitID"),
        _price_fields(keyPriceLevelID=string(mandatory=True)),
        references={"keyProductID": PRODUCTS, "keyPriceLevelID": PRICE_LEVELS, "keySellUnitID": SELL_UNITS},
    ),
    _import_type(QUANTITY_PRICES, "price_level_quantity_prices",
        ("keyProductID", "keyPriceLevelID", "keySellUnitID", "quantity"),
        _price_fields(keyPriceLevelID=string(mandatory=True), quantity=decimal(mandatory=True, positive=True)),
        references={"keyProductID": PRODUCTS, "keyPriceLevelID": PRICE_LEVELS, "keySellUnitID": SELL_UNITS},
    ),
    _import_type(CUSTOMER_ACCOUNT_PRICES, "customer_account_prices",
        ("keyProductID", "keyAccountID", "keyPriceGroupID", "keySellUnitID", "quantity"),
        _price_fields(
            keyAccountID=string(),
            keyPriceGroupID=string(),
            quantity=decimal(mandatory=True, positive=True),
        ),
        references={"keyProductID": PRODUCTS, "keyAccountID": CUSTOMER_ACCOUNTS, "keySellUnitID": SELL_UNITS},
        one_of=(("keyAccountID", "keyPriceGroupID"),),
        price_group_member_type=CUSTOMER_ACCOUNTS,
    ),
    _import_type(ALTERNATE_CODES, "alternate_codes", ("keyProductID", "alternateCode"), {
        "keyProductID": string(mandatory=True),
        "alternateCode": string(mandatory=True),
        "isSupplierCode": yes_no(),
        "keySupplierAccountID": string(default=None),
        "keyCustomerAccountID": string(default=None),
        "isUseCode": yes_no(),
    },
        references={
            "keyProductID": PRODUCTS,
            "keySupplierAccountID": SUPPLIER_ACCOUNTS,
            "keyCustomerAccountID": CUSTOMER_ACCOUNTS,
        },
    ),
    _import_type(STOCK_QUANTITIES, "stock_quantities", ("keyProductID",), {
        "keyProductID": string(mandatory=True),
        "qtyAvailable": decimal(mandatory=True),
    },
        references={"keyProductID": PRODUCTS},
        mirror=Mirror(via="keyProductID", target_type_id=PRODUCTS, fields={"qtyAvailable": "stockQuantity"}),
    ),
    _import_type(SALES_REPS, "sales_reps", ("keySalesRepID",), {
        "keySalesRepID": string(mandatory=True),
        "salesRepCode": string(),
        "name": string(None),
        "contact": string(None),
        "isIndividual": yes_no("Y"),
    }),
    _import_type(CUSTOMER_ACCOUNTS, "customer_accounts", ("keyCustomerAccountID",), {
        "keyCustomerAccountID": string(mandatory=True),
        **_account_fields("customerAccountCode"),
        "keySalesRepID": string(default=None),
        "keyPaymentTypeIDs": string_list(),
        "keyLocationIDs": string_list(),
        "onHoldAction": enum(*ACCOUNT_ACTIONS, default="OFF"),
        "outTermsAction": enum(*ACCOUNT_ACTIONS, default="OFF"),
        "outCreditAction": enum(*ACCOUNT_ACTIONS, default="OFF"),
        "termsType": enum(*TERMS_TYPES, "COD", default="NA"),
        "discount": decimal(),
    },
        references={
            "keyPriceLevelID": PRICE_LEVELS,
            "keySalesRepID": SALES_REPS,
            "keyPaymentTypeIDs": PAYMENT_TYPES,
            "keyLocationIDs": LOCATIONS,
        },
    ),
    _import_type(SUPPLIER_ACCOUNTS, "supplier_accounts", ("keySupplierAccountID",), {
        "keySupplierAccountID": string(mandatory=True),
        **_account_fields("supplierAccountCode"),
        "keyPurchaserID": string(default=None),
        "termsType": enum(*TERMS_TYPES, default="NA"),
        "termsValue1": string(None),
        "termsValue2": string(None),
    },
        references={"keyPriceLevelID": PRICE_LEVELS, "keyPurchaserID": PURCHASERS},
    ),
    _import_type(LOCATIONS, "locations", ("keyLocationID",), {
        "keyLocationID": string(mandatory=True),
        "locationCode": string(),
        "locationName": string(),
        "locationType": enum(*LOCATION_TYPES, default="OTHER"),
        "isGeographic": yes_no(),
        "isActive": yes_no("Y"),
        "latitude": decimal(decimal_places=6, bounds=(-90, 90)),
        "longitude": decimal(decimal_places=6, bounds=(-180, 180)),
        "address1": string(90),
        "address2": string(90),
        "address3": string(90),
        "region": string(70),
        "country": string(70),
        "postcode": string(30),
        "contact": string(),
        "phone": string(45),
        "fax": string(45),
        "email": string(None),
        "website": string(None),
        "productStock": STOCK_AT_LOCATION,
    },
        nested_key={"productStock": "keyProductID"},
        nested_references={"productStock": {"keyProductID": PRODUCTS}},
        fields_config="dataFieldsLocation",
        nested_fields_config="dataFieldsLocationStock",
    ),
    _import_type(PURCHASERS, "purchasers", ("keyPurchaserID",), {
        "keyPurchaserID": string(mandatory=True),
        "purchaserCode": string(100),
        "name": string(100),
        "contact": string(),
        "isIndividual": yes_no("Y"),
    }),
    _import_type(SURCHARGES, "surcharges", ("keySurchargeID",), {
        "keySurchargeID": string(mandatory=True),
        "surchargeCode": string(),
        "surchargeLabel": string(),
        "description": string(100),
        "surchargeType": enum(*SURCHARGE_TYPES, default="OTHER"),
    }),
    _import_type(PAYMENT_TYPES, "payment_types", ("keyPaymentTypeID",), {
        "keyPaymentTypeID": string(mandatory=True),
        "paymentTypeCode": string(),
        "paymentTypeLabel": string(),
        "description": string(100),
        "paymentMethod": enum(*PAYMENT_METHODS, default="NONE"),
    }),
    _import_type(SELL_UNITS, "sell_units", ("keySellUnitID",), {
        "keySellUnitID": string(mandatory=True),
        "sellUnitCode": string(),
        "sellUnitLabel": string(),
        "baseQuantity": decimal(default=1, positive=True),
        "parentQuantity": decimal(default=1),
        "isBaseUnit": yes_no("Y"),
        "keySellUnitParentID": string(default=None),
        "isPricedOffBaseUnit": yes_no(),
        "minOrderQuantity": decimal(default=1),
        "incrementOrderQuantity": decimal(default=1),
        "weight": decimal(),
        "width": decimal(),
        "height": decimal(),
        "depth": decimal(),
        "packageWeight": decimal(),
        "packageWidth": decimal(),
        "packageHeight": decimal(),
        "packageDepth": decimal(),
        "weightUnitMeasureCode": string(None),
        "widthUnitMeasureCode": string(None),
        "heightUnitMeasureCode": string(None),
        "depthUnitMeasureCode": string(None),
    },
        references={"keySellUnitParentID": SELL_UNITS},
    ),
)

IMPORT_TYPES: Mapping[int, ImportType] = MappingProxyType({t.type_id: t for t in _TYPES})
