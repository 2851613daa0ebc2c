"""The canonical entities.

Field limits: where the targets disagree, the model enforces the widest limit
any target accepts, so the hub never loses data one target could take; each
target's mapping then checks its own, narrower limits and rejects a record for
that target only (a failure in one target does not lose work in another).
Key columns are the exception: they must travel to every target unchanged, so
they carry the narrowest key limit of any target (50, SQUIZZ's and Norce's).
The per-field sources are noted where the numbers come from a seed.
"""

from __future__ import annotations

from b2b_assets.model.entity import Entity, OnMissing, Reference
from b2b_assets.model.fields import Field, Kind, boolean, country, decimal, email, enum, key_list, text

KEY_LENGTH = 50  # SQUIZZ key*ID fields and Norce Code are 50

STATUS = ("active", "inactive")
LOCATION_STATUS = ("active", "inactive", "hidden")  # seed 000: "active, inactive, or hidden"
PRODUCT_STATUS = ("active", "discontinued", "inactive")  # each target maps it to its own active flag
TERMS_TYPES = ("NA", "GND", "DOM", "NDAE", "DMAE", "COD")
ACCOUNT_ACTIONS = ("OFF", "WARN", "WARNCC", "BLOCK")
SITE_TYPES = ("WAREHOUSE", "STORE", "SITE", "OFFICE", "HEAD_OFFICE", "THIRD_PARTY", "OTHER")
PAYMENT_METHODS = ("UNPAID", "CREDITCARD", "COD", "DIRECTDEPOSIT", "QUOTE", "PROPRIETARY", "ACCOUNT", "NONE")
SURCHARGE_TYPES = ("FREIGHT", "CREDITCARD", "MINORDER", "OTHER")
ADDRESS_TYPES = ("billing", "shipping", "both")


def key(name: str, description: str = "") -> Field:
    return text(name, KEY_LENGTH, required=True, description=description)


def ref(name: str, description: str = "") -> Field:
    return text(name, KEY_LENGTH, description=description)


def quantity(name: str, description: str = "") -> Field:
    return decimal(name, description=description)


def price_fields() -> tuple[Field, ...]:
    return (
        # Zero is a valid price (a free item); a target that refuses it (SQUIZZ) says so in its own limits.
        decimal("price", required=True, minimum=0),
        text("reference_id", 50),
        text("reference_type", 50, description="the target's price reference code (SQUIZZ: C, CF or P)"),
        decimal("tax_rate", minimum=0, maximum=100, description="percent of tax included in the price"),
    )


def account_fields() -> tuple[Field, ...]:
    """Columns customer and supplier accounts share (SQUIZZ types 17 and 18)."""
    return (
        text("contact_name", 80),
        text("account_class", 50),
        text("territory", 50),
        text("shipping_method", 50),
        boolean("is_on_hold", default="false"),
        boolean("is_outside_terms", default="false"),
        boolean("is_outside_balance", default="false"),
        decimal("balance"),
        decimal("credit_limit"),
        enum("terms_type", TERMS_TYPES),
        text("terms_description", 50),
    )


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "taxcodes", "Taxes (GST, VAT, sales tax) and their rates.",
        key=("tax_code_id",),
        fields=(
            key("tax_code_id"), text("code", 50), decimal("rate_percent", minimum=0, maximum=100),
            text("label", 80), text("description", 50),
        ),
    ),
    Entity(
        "price_levels", "Price lists customers are assigned to (trade, retail, VIP).",
        key=("price_level_id",),
        fields=(key("price_level_id"), text("label", 100)),
    ),
    Entity(
        "sell_units", "Units products are sold in (each, pack, carton) and their hierarchy.",
        key=("sell_unit_id",),
        fields=(
            key("sell_unit_id"), text("code", 50), text("label", 50), boolean("is_base_unit", default="true"),
            decimal("base_quantity", minimum=0, exclusive_minimum=True), decimal("parent_quantity", minimum=0),
            ref("parent_sell_unit_id"),
        ),
        references=(Reference(("parent_sell_unit_id",), "sell_units", OnMissing.WARN),),
    ),
    Entity(
        "sales_reps", "The seller's sales representatives.",
        key=("sales_rep_id",),
        fields=(
            key("sales_rep_id"), text("code", 50), text("name", 255), text("contact", 255), email("email"),
            boolean("is_individual", default="true"),
        ),
    ),
    Entity(
        "payment_types", "Ways customers may pay (on account, credit card, direct deposit).",
        key=("payment_type_id",),
        fields=(
            key("payment_type_id"), text("code", 50), text("label", 50), text("description", 100),
            enum("payment_method", PAYMENT_METHODS, default="NONE"),
        ),
    ),
    Entity(
        "surcharges", "Extra charges applied to orders (freight, card fees, minimum order).",
        key=("surcharge_id",),
        fields=(
            key("surcharge_id"), text("code", 50), text("label", 50), text("description", 100),
            enum("surcharge_type", SURCHARGE_TYPES, default="OTHER"),
        ),
    ),
    Entity(
        "purchasers", "People or teams who buy from suppliers for the seller.",
        key=("purchaser_id",),
        fields=(
            key("purchaser_id"), text("code", 100), text("name", 100), text("contact", 50),
            boolean("is_individual", default="true"),
        ),
    ),
    Entity(
        "sites", "The seller's own sites holding stock: warehouses, stores, offices (SQUIZZ locations, JOOR warehouses).",
        key=("site_id",),
        fields=(
            key("site_id"), text("code", 50), text("name", 50), enum("site_type", SITE_TYPES, default="WAREHOUSE"),
            boolean("is_active", default="true"), boolean("is_geographic", default="true"),
            decimal("latitude", minimum=-90, maximum=90), decimal("longitude", minimum=-180, maximum=180),
            text("address1", 90), text("address2", 90), text("city", 90), text("region", 70), country("country"),
            text("postcode", 30), text("contact", 50), text("phone", 45), text("fax", 45), email("email"),
            text("website", 255),
        ),
    ),
    Entity(
        "products", "The catalogue: one row per product, its tax code and default sell unit.",
        key=("product_id",),
        fields=(
            key("product_id"), text("sku", 50), text("search_code", 255), text("name", 255, required=True),
            enum("status", PRODUCT_STATUS, default="active"),
            text("description1", 65535), text("description2", 65535), text("description3", 65535),
            text("description4", 65535), ref("tax_code_id"), ref("sell_unit_id", "default sell unit"),
            text("brand", 50), text("barcode", 50), text("barcode_inner", 50), text("product_class", 50),
            boolean("is_price_tax_inclusive", default="false"), decimal("stock_low_quantity"),
            decimal("stock_none_quantity"), decimal("width", minimum=0), decimal("height", minimum=0),
            decimal("depth", minimum=0), decimal("weight", minimum=0), decimal("volume", minimum=0),
        ),
        references=(
            Reference(("tax_code_id",), "taxcodes", OnMissing.WARN),
            Reference(("sell_unit_id",), "sell_units", OnMissing.WARN),
        ),
    ),
    Entity(
        "product_sell_units", "Which sell units each product is sold in, with quantities of the base unit.",
        key=("product_id", "sell_unit_id"),
        fields=(
            key("product_id"), key("sell_unit_id"), text("label", 50),
            decimal("base_quantity", required=True, minimum=0, exclusive_minimum=True),
            decimal("parent_quantity", minimum=0), ref("parent_sell_unit_id"),
            boolean("is_priced_off_base_unit", default="false"),
        ),
        references=(
            Reference(("product_id",), "products"),
            Reference(("sell_unit_id",), "sell_units", OnMissing.WARN),
            Reference(("parent_sell_unit_id",), "sell_units", OnMissing.WARN),
        ),
    ),
    Entity(
        "unit_prices", "Price-level unit prices: one price per product, price level and sell unit.",
        key=("product_id", "price_level_id", "sell_unit_id"),
        fields=(key("product_id"), key("price_level_id"), key("sell_unit_id"), *price_fields()),
        references=(
            Reference(("product_id",), "products"),
            Reference(("price_level_id",), "price_levels", OnMissing.WARN),
            Reference(("sell_unit_id",), "sell_units", OnMissing.WARN),
        ),
    ),
    Entity(
        "quantity_prices", "Price-level quantity breaks: a price from a quantity upwards.",
        key=("product_id", "price_level_id", "sell_unit_id", "quantity"),
        fields=(
            key("product_id"), key("price_level_id"), key("sell_unit_id"),
            decimal("quantity", required=True, minimum=0, exclusive_minimum=True), *price_fields(),
        ),
        references=(
            Reference(("product_id",), "products"),
            Reference(("price_level_id",), "price_levels", OnMissing.WARN),
            Reference(("sell_unit_id",), "sell_units", OnMissing.WARN),
        ),
    ),
    Entity(
        "organizations",
        "Customer organizations / customer accounts (seed 000 organizations, SQUIZZ customer accounts, "
        "JOOR connections, Norce companies).",
        key=("organization_number",),
        fields=(
            key("organization_number", "seed 000: vendor/customer/account number, stable and unique"),
            text("organization_name", 255, required=True, description="SQUIZZ accountName 255; JOOR 100 is checked per target"),
            enum("status", STATUS, default="active"),
            boolean("sales_incentive"), email("sales_rep_email"), text("website", 255), text("data", 65535),
            text("account_code", 100, description="human account code; defaults to organization_number"),
            email("email"), text("phone", 50), text("org_name", 80),
            ref("price_level_id"), ref("sales_rep_id"),
            key_list("payment_type_ids", "payment types the account may use"),
            key_list("site_ids", "seller sites the account orders from; the first is its primary site"),
            *account_fields(),
            enum("on_hold_action", ACCOUNT_ACTIONS), enum("outside_terms_action", ACCOUNT_ACTIONS),
            enum("outside_balance_action", ACCOUNT_ACTIONS),
            Field("currency", Kind.CURRENCY, max_length=3, description="JOOR price type currency"),
            Field("retail_currency", Kind.CURRENCY, max_length=3, description="JOOR price type retail currency"),
            text("price_type_label", 100, description="JOOR price type name"),
            text("alias", 150), text("customer_group_code", 100), text("customer_group_name", 150),
            text("company_number_code", 100), text("company_number_name", 150),
            decimal("discount_percent", minimum=0, maximum=100), boolean("discount_line_item_level"),
            text("vat_no", 50),
            text("registration_no", 50, description="legal company registration number (Norce OrganizationNo)"),
            ref("parent_organization_number", "the organization this one belongs to (Norce ParentCompanyCode)"),
        ),
        references=(
            Reference(("parent_organization_number",), "organizations", OnMissing.WARN),
            Reference(("price_level_id",), "price_levels", OnMissing.WARN),
            Reference(("sales_rep_id",), "sales_reps", OnMissing.WARN),
            Reference(("payment_type_ids",), "payment_types", OnMissing.WARN, many=True),
            Reference(("site_ids",), "sites", OnMissing.WARN, many=True),
        ),
    ),
    Entity(
        "locations",
        "The customer organizations' own locations: stores, ship-to and bill-to addresses "
        "(seed 000 locations, JOOR addresses and doors, Norce delivery addresses).",
        key=("organization_number", "location_id"),
        fields=(
            key("organization_number"), key("location_id"),
            text("location_name", 255, required=True, description="seed 000: city is an acceptable fallback"),
            text("address1", 100, required=True), text("address2", 100), text("city", 150, required=True),
            text("state", 70), text("postal_code", 30), country("country"), text("phone", 50), email("email"),
            enum("status", LOCATION_STATUS, default="active"), enum("address_type", ADDRESS_TYPES, default="shipping"),
            boolean("is_primary", default="false"),
        ),
        references=(Reference(("organization_number",), "organizations"),),
    ),
    Entity(
        "users",
        "Buyers and contacts of customer organizations (seed 000 users, JOOR buyers, Norce customers).",
        key=("user_key",),
        fields=(
            key("user_key", "user_id, else username, else organization_number (one-user-per-organization mode)"),
            key("organization_number"), text("user_id", 50), text("username", 255),
            text("name", 255, required=True), email("email", required=True), text("phone", 50),
            boolean("active", default="true"), text("role", 50), text("title", 50),
            text("mobile_phone", 50),
            text("password", 255, description="seed 000: only when the export is the system of record for credentials"),
        ),
        references=(Reference(("organization_number",), "organizations"),),
    ),
    Entity(
        "price_groups", "Named groups of customer accounts that share contract or promotion pricing.",
        key=("price_group_id",),
        fields=(key("price_group_id"), text("label", 100)),
    ),
    Entity(
        "price_group_members", "Which customer accounts belong to which price group.",
        key=("price_group_id", "organization_number"),
        fields=(key("price_group_id"), key("organization_number")),
        references=(
            Reference(("price_group_id",), "price_groups"),
            Reference(("organization_number",), "organizations"),
        ),
    ),
    Entity(
        "customer_prices",
        "Customer-specific prices: for one customer account or one price group, with quantity breaks.",
        key=("product_id", "organization_number", "price_group_id", "sell_unit_id", "quantity"),
        fields=(
            key("product_id"), ref("organization_number"), ref("price_group_id"), key("sell_unit_id"),
            decimal("quantity", required=True, minimum=0, exclusive_minimum=True), *price_fields(),
        ),
        references=(
            Reference(("product_id",), "products"),
            Reference(("organization_number",), "organizations"),
            Reference(("price_group_id",), "price_groups"),
            Reference(("sell_unit_id",), "sell_units", OnMissing.WARN),
        ),
        one_of=(("organization_number", "price_group_id"),),
    ),
    Entity(
        "supplier_accounts", "The seller's own suppliers (creditors).",
        key=("supplier_account_id",),
        fields=(
            key("supplier_account_id"), text("account_code", 100, required=True), text("account_name", 255),
            text("org_name", 80), email("email"), ref("price_level_id"), ref("purchaser_id"), *account_fields(),
        ),
        references=(
            Reference(("price_level_id",), "price_levels", OnMissing.WARN),
            Reference(("purchaser_id",), "purchasers", OnMissing.WARN),
        ),
    ),
    Entity(
        "alternate_codes", "Other codes a product is known by: supplier, customer, manufacturer or replacement codes.",
        key=("product_id", "alternate_code"),
        fields=(
            key("product_id"), key("alternate_code"), boolean("is_supplier_code", default="false"),
            ref("supplier_account_id"), ref("organization_number", "customer account whose code this is"),
            boolean("is_use_code", default="false"),
        ),
        references=(
            Reference(("product_id",), "products"),
            Reference(("supplier_account_id",), "supplier_accounts", OnMissing.WARN),
            Reference(("organization_number",), "organizations", OnMissing.WARN),
        ),
    ),
    Entity(
        "stock_levels", "Stock of each product at each of the seller's sites, in base sell units.",
        key=("site_id", "product_id"),
        fields=(
            key("site_id"), key("product_id"), decimal("qty_available", required=True), decimal("qty_on_hand"),
            decimal("qty_ordered"), decimal("qty_backordered"), decimal("qty_reserved"), decimal("qty_consigned"),
        ),
        references=(Reference(("site_id",), "sites"), Reference(("product_id",), "products")),
    ),
)
