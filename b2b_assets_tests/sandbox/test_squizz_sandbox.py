"""The SQUIZZ sandbox as a client sees it: sessions, import_esd, tokens, faults, persistence."""

from __future__ import annotations

import gzip
import json
import logging
import time

import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes

from .clients import API_KEY, API_PASSWORD, SquizzClient, esd, result_code

TAXCODES, PRICE_LEVELS, PRODUCTS, UNIT_PRICES, QUANTITY_PRICES, ACCOUNT_PRICES = 1, 2, 3, 4, 6, 7
STOCK_QUANTITIES, CUSTOMER_ACCOUNTS, LOCATIONS, SURCHARGES, PAYMENT_TYPES, SELL_UNITS = 10, 17, 23, 26, 27, 28
PRICE_FIELDS = "keyProductID,keyPriceLevelID,keySellUnitID,price"


def taxcodes(*ids: str, mode: str = "INCREMENT") -> dict:
    return esd([{"keyTaxcodeID": i, "taxcode": i, "taxcodePercentageRate": 10} for i in ids], "keyTaxcodeID,taxcode,taxcodePercentageRate", mode)


def products(*ids: str, mode: str = "INCREMENT") -> dict:
    return esd([{"keyProductID": i, "name": f"Product {i}"} for i in ids], "keyProductID,name", mode)


def assert_imported(reply: dict) -> None:
    assert result_code(reply) == "SERVER_SUCCESS", reply


def import_catalogue(squizz: SquizzClient) -> None:
    """Sell unit EA, price level PL1 and products P-1, P-2: what prices need to exist first."""
    assert_imported(squizz.import_esd(SELL_UNITS, esd([{"keySellUnitID": "EA"}], "keySellUnitID")))
    assert_imported(squizz.import_esd(PRICE_LEVELS, esd([{"keyPriceLevelID": "PL1"}], "keyPriceLevelID")))
    assert_imported(squizz.import_esd(PRODUCTS, products("P-1", "P-2")))


def price(product: str, amount: float, **extra: object) -> dict:
    return {"keyProductID": product, "keyPriceLevelID": "PL1", "keySellUnitID": "EA", "price": amount, **extra}


# Sessions ---------------------------------------------------------------------------


def test_session_can_be_created_validated_and_destroyed(squizz):
    created = squizz.create_session()
    assert created["result"] == "SUCCESS"
    assert created["session_valid"] == "Y"
    session_id = created["session_id"]

    validated = squizz.http.get(f"{squizz.api}/validate_session/{session_id}").json()
    assert (validated["result"], validated["session_valid"]) == ("SUCCESS", "Y")

    destroyed = squizz.http.get(f"{squizz.api}/destroy_session/{session_id}").json()
    assert (destroyed["result"], destroyed["session_valid"]) == ("SUCCESS", "N")

    after = squizz.http.get(f"{squizz.api}/validate_session/{session_id}").json()
    assert (after["result"], after["result_code"], after["session_valid"]) == ("FAILURE", "SERVER_ERROR_SESSION_INVALID", "N")
    reply = squizz.import_esd(TAXCODES, taxcodes("GST"), session_id=session_id)
    assert result_code(reply) == "SERVER_ERROR_SESSION_INVALID"


def test_wrong_credentials_are_refused_and_no_password_is_ever_echoed(squizz, caplog):
    caplog.set_level(logging.DEBUG, logger="b2b_assets.sandbox")
    wrong_password = "Wr0ng-password-9d1c"
    wrong = squizz.create_session(password=wrong_password)
    wrong_key = squizz.create_session(api_key="not-the-key")
    unknown_org = squizz.create_session(org_id="someone-else")

    assert (wrong["result"], wrong["result_code"], wrong["session_id"]) == ("FAILURE", "SERVER_ERROR_INCORRECT_API_CREDENTIALS", "")
    assert wrong_key["result_code"] == "SERVER_ERROR_INCORRECT_API_CREDENTIALS"
    assert unknown_org["result_code"] == "SERVER_ERROR_ORG_NOT_FOUND"

    good = squizz.create_session()
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("GST"), session_id=good["session_id"]))
    everything_seen = [
        json.dumps([wrong, wrong_key, unknown_org, good]),
        json.dumps(squizz.stats()),
        squizz.http.get(f"{squizz.admin_url}/config").text,
        squizz.http.get(f"{squizz.admin_url}/faults").text,
        json.dumps(squizz.records(TAXCODES)),
        caplog.text,
    ]
    for text in everything_seen:
        assert wrong_password not in text
        assert API_PASSWORD not in text
        assert API_KEY not in text
    assert good["session_id"] not in caplog.text, "session ids are masked in the request log"


def test_session_expires_after_its_ttl(squizz):
    squizz.admin("config", {"session_ttl_seconds": 0.2})
    session_id = squizz.session_id
    time.sleep(0.3)

    reply = squizz.import_esd(TAXCODES, taxcodes("GST"), session_id=session_id)

    assert result_code(reply) == "SERVER_ERROR_SESSION_INVALID"
    assert squizz.records(TAXCODES) == []
    fresh = squizz.create_session()["session_id"]
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("GST"), session_id=fresh))


def test_invalidated_sessions_must_be_recreated(squizz):
    session_id = squizz.session_id
    assert squizz.admin("invalidate_sessions") == {"invalidated": 1}

    assert result_code(squizz.import_esd(TAXCODES, taxcodes("GST"), session_id=session_id)) == "SERVER_ERROR_SESSION_INVALID"


# Request and header errors ------------------------------------------------------------


@pytest.mark.parametrize("import_type_id", [None, 5, 99, "products"])
def test_missing_or_unknown_import_type_is_refused(squizz, import_type_id):
    body = gzip.compress(json.dumps(taxcodes("GST")).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}

    reply = squizz.post_esd(import_type_id, body, headers=headers).json()

    assert result_code(reply) == "SERVER_ERROR_DATA_IMPORT_MISSING_IMPORT_TYPE"


def test_body_must_be_sent_as_application_json(squizz):
    reply = squizz.post_esd(TAXCODES, json.dumps(taxcodes("GST")).encode(), headers={"Content-Type": "text/plain"}).json()

    assert result_code(reply) == "SERVER_ERROR_DATA_JSON_WRONG_CONTENT_TYPE"
    assert reply["resultStatus"] == 0


@pytest.mark.parametrize(
    "body, encoding",
    [
        (b'{"dataTransferMode": "COMPLETE",', ""),
        (b"this is not gzip", "gzip"),
        (gzip.compress(b"[1, 2"), "gzip"),
        (b'{"taxcodePercentageRate": NaN}', ""),
    ],
    ids=["truncated-json", "not-gzip", "truncated-json-in-gzip", "nan"],
)
def test_malformed_body_is_refused(squizz, body, encoding):
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}

    reply = squizz.post_esd(TAXCODES, body, headers=headers).json()

    assert result_code(reply) == "SERVER_ERROR_DATA_JSON_MALFORMED"


@pytest.mark.parametrize("attribute", ["dataTransferMode", "dataRecords", "configs"])
def test_header_without_a_required_attribute_is_refused(squizz, attribute):
    document = taxcodes("GST")
    del document[attribute]

    reply = squizz.import_esd(TAXCODES, document)

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES"
    assert attribute in reply["message"]


def test_configs_without_data_fields_is_a_missing_attribute(squizz):
    reply = squizz.import_esd(TAXCODES, {**taxcodes("GST"), "configs": {}})

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES"
    assert "configs.dataFields" in reply["message"]


@pytest.mark.parametrize(
    "change, named",
    [
        ({"dataTransferMode": "EVERYTHING"}, "dataTransferMode"),
        ({"configs": {"dataFields": "keyTaxcodeID,colour"}}, "colour"),
        ({"dataRecords": {"keyTaxcodeID": "GST"}}, "dataRecords"),
        ({"configs": {"dataFields": ["keyTaxcodeID"]}}, "dataFields"),
    ],
)
def test_malformed_header_is_refused(squizz, change, named):
    reply = squizz.import_esd(TAXCODES, {**taxcodes("GST"), **change})

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED"
    assert named in reply["message"]


def test_document_without_records_is_refused(squizz):
    reply = squizz.import_esd(TAXCODES, esd([], "keyTaxcodeID"))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_NO_RECORD"


def test_vendor_example_field_lists_with_spaces_and_line_breaks_are_accepted(squizz):
    document = esd([{"keyTaxcodeID": "GST", "taxcodeLabel": "Goods"}], "keyTaxcodeID,\n taxcodeLabel")

    assert_imported(squizz.import_esd(TAXCODES, document))
    assert squizz.records(TAXCODES)[0]["taxcodeLabel"] == "Goods"


# Record validation ----------------------------------------------------------------------


def test_one_invalid_record_rejects_the_whole_document_naming_record_key_field_and_reason(squizz):
    import_catalogue(squizz)
    spent_before = squizz.stats()["tokens_spent"]

    reply = squizz.import_esd(UNIT_PRICES, esd([price("P-1", 10), price("P-2", 0)], PRICE_FIELDS))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert reply["message"] == "record 1 (keyProductID=P-2, keyPriceLevelID=PL1, keySellUnitID=EA): price must be greater than 0"
    assert squizz.records(UNIT_PRICES) == [], "a rejected document stores nothing, not even its valid records"
    assert squizz.stats()["tokens_spent"] == spent_before


def test_every_failing_record_is_named(squizz):
    records = [{"keyTaxcodeID": "A"}, {"keyTaxcodeID": ""}, {"keyTaxcodeID": "C", "taxcodeLabel": 5}]

    reply = squizz.import_esd(TAXCODES, esd(records, "keyTaxcodeID,taxcodeLabel"))

    assert reply["message"] == "record 1: keyTaxcodeID is mandatory; record 2 (keyTaxcodeID=C): taxcodeLabel must be a string"


ACCOUNT = {"keyCustomerAccountID": "C-1", "customerAccountCode": "C1"}
ACCOUNT_FIELDS = "keyCustomerAccountID,customerAccountCode"
FIELD_RULES = [
    (TAXCODES, {"keyTaxcodeID": "T", "taxcodeLabel": "x" * 81}, "taxcodeLabel", "taxcodeLabel is longer than 80 characters"),
    (TAXCODES, {"keyTaxcodeID": 7}, "", "keyTaxcodeID must be a string"),
    (TAXCODES, {"keyTaxcodeID": "T", "taxcodePercentageRate": 12.12345}, "taxcodePercentageRate", "taxcodePercentageRate has more than 4 decimal places"),
    (TAXCODES, {"keyTaxcodeID": "T", "taxcodePercentageRate": 12345678901}, "taxcodePercentageRate", "taxcodePercentageRate has more than 10 integer digits"),
    (TAXCODES, {"keyTaxcodeID": "T", "taxcodePercentageRate": "10"}, "taxcodePercentageRate", "taxcodePercentageRate must be a number"),
    (PRODUCTS, {"keyProductID": "P", "isPriceTaxInclusive": True}, "isPriceTaxInclusive", "isPriceTaxInclusive must be one of Y, N"),
    (PRODUCTS, {"keyProductID": "P", "condition": "NEW"}, "condition", "condition must be one of UK, N, UE, UG, UA, UP, RFS, RFM, D"),
    (PRODUCTS, {"keyProductID": "P", "conditionDateTime": 1.5}, "conditionDateTime", "conditionDateTime must be a whole number"),
    (PRODUCTS, {"keyProductID": "P", "sellUnits": [{"keySellUnitID": "EA", "baseQuantity": 0}]}, "sellUnits", "sellUnits[0].baseQuantity must be greater than 0"),
    (PRODUCTS, {"keyProductID": "P", "sellUnits": [{"baseQuantity": 1}]}, "sellUnits", "sellUnits[0].keySellUnitID is mandatory"),
    (PRODUCTS, {"keyProductID": "P", "drop": 7}, "", "drop must be between 0 and 4"),
    (UNIT_PRICES, {**price("P", 1), "referenceType": "X"}, PRICE_FIELDS + ",referenceType", "referenceType must be one of C, CF, P"),
    (QUANTITY_PRICES, {**price("P", 1), "quantity": 0}, PRICE_FIELDS + ",quantity", "quantity must be greater than 0"),
    (QUANTITY_PRICES, price("P", 1), PRICE_FIELDS, "quantity is mandatory"),
    (CUSTOMER_ACCOUNTS, {"keyCustomerAccountID": "C-1"}, "", "customerAccountCode is mandatory"),
    (CUSTOMER_ACCOUNTS, {**ACCOUNT, "termsType": "NET30"}, "termsType", "termsType must be one of NA, GND, DOM, NDAE, DMAE, COD"),
    (CUSTOMER_ACCOUNTS, {**ACCOUNT, "onHoldAction": "STOP"}, "onHoldAction", "onHoldAction must be one of OFF, WARN, WARNCC, BLOCK"),
    (CUSTOMER_ACCOUNTS, {**ACCOUNT, "keyPaymentTypeIDs": "PT1"}, "keyPaymentTypeIDs", "keyPaymentTypeIDs must be a list of strings"),
    (SURCHARGES, {"keySurchargeID": "S", "surchargeType": "POSTAGE"}, "surchargeType", "surchargeType must be one of FREIGHT, CREDITCARD, MINORDER, OTHER"),
    (PAYMENT_TYPES, {"keyPaymentTypeID": "PT", "paymentMethod": "CASH"}, "paymentMethod", "paymentMethod must be one of UNPAID, CREDITCARD"),
]


@pytest.mark.parametrize("import_type_id, record, extra_fields, reason", FIELD_RULES)
def test_field_tables_are_enforced(squizz, import_type_id, record, extra_fields, reason):
    key_field = next(iter(record))
    fields = ",".join(name for name in [key_field, *extra_fields.split(",")] if name)

    reply = squizz.import_esd(import_type_id, esd([record], fields))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert reply["message"].startswith("record 0")
    assert reason in reply["message"]


def test_unlisted_fields_are_checked_but_not_saved(squizz):
    too_long = {"keyTaxcodeID": "T", "taxcodeLabel": "x" * 500}
    reply = squizz.import_esd(TAXCODES, esd([too_long], "keyTaxcodeID"))
    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert reply["message"] == "record 0 (keyTaxcodeID=T): taxcodeLabel is longer than 80 characters"

    fitting = {"keyTaxcodeID": "T", "taxcodeLabel": "Goods"}
    assert_imported(squizz.import_esd(TAXCODES, esd([fitting], "keyTaxcodeID")))
    assert "taxcodeLabel" not in squizz.records(TAXCODES)[0]


def location_document(records: list[dict], stock_fields: str | None = "keyProductID,qtyAvailable", mode: str = "INCREMENT") -> dict:
    configs = {"dataFieldsLocation": "keyLocationID,locationName,locationType,latitude,longitude"}
    if stock_fields:
        configs["dataFieldsLocationStock"] = stock_fields
    return {"dataTransferMode": mode, "totalDataRecords": len(records), "configs": configs, "dataRecords": records}


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"keyLocationID": "L", "locationType": "DEPOT"}, "locationType must be one of WAREHOUSE, STORE, SITE, OFFICE, HEAD_OFFICE, THIRD_PARTY, OTHER"),
        ({"keyLocationID": "L", "latitude": 91.5}, "latitude must be between -90 and 90"),
        ({"keyLocationID": "L", "longitude": 12.1234567}, "longitude has more than 6 decimal places"),
        ({"keyLocationID": "L", "productStock": [{"keyProductID": "P"}]}, "productStock[0].qtyAvailable is mandatory"),
    ],
)
def test_location_fields_are_enforced(squizz, record, reason):
    reply = squizz.import_esd(LOCATIONS, location_document([record]))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert reason in reply["message"]


def test_locations_use_their_own_field_configs(squizz):
    plain = esd([{"keyLocationID": "L"}], "keyLocationID")
    assert result_code(squizz.import_esd(LOCATIONS, plain)) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES"

    with_stock = location_document([{"keyLocationID": "L", "productStock": [{"keyProductID": "P", "qtyAvailable": 1}]}], stock_fields=None)
    reply = squizz.import_esd(LOCATIONS, with_stock)
    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES"
    assert "dataFieldsLocationStock" in reply["message"]

    precise = location_document([{"keyLocationID": "L", "latitude": -37.813611, "longitude": 144.963056}])
    assert_imported(squizz.import_esd(LOCATIONS, precise))


def test_customer_account_price_needs_an_account_or_a_price_group_of_the_document(squizz):
    fields = "keyProductID,keyAccountID,keyPriceGroupID,keySellUnitID,price,quantity"
    neither = {"keyProductID": "P-1", "keySellUnitID": "EA", "price": 5, "quantity": 1}
    unknown_group = {**neither, "keyPriceGroupID": "PG-9"}

    reply = squizz.import_esd(ACCOUNT_PRICES, esd([neither, unknown_group], fields, priceGroups={"PG-1": ["C-1"]}))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert "record 0 (keyProductID=P-1, keySellUnitID=EA, quantity=1): keyAccountID or keyPriceGroupID is mandatory" in reply["message"]
    assert "record 1 (keyProductID=P-1, keyPriceGroupID=PG-9, keySellUnitID=EA, quantity=1): keyPriceGroupID PG-9 is not in the document's priceGroups" in reply["message"]


# Bodies ------------------------------------------------------------------------------


def test_plain_and_streamed_bodies_are_accepted_as_well_as_gzip(squizz):
    plain = json.dumps(taxcodes("A")).encode()
    assert_imported(squizz.post_esd(TAXCODES, plain, headers={"Content-Type": "application/json; charset=utf-8"}).json())

    compressed = gzip.compress(json.dumps(taxcodes("B")).encode())
    chunks = (compressed[i : i + 7] for i in range(0, len(compressed), 7))  # a generator is sent chunked
    streamed = squizz.http.post(
        f"{squizz.api}/import_esd/{squizz.session_id}",
        params={"import_type_id": TAXCODES},
        data=chunks,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert_imported(streamed.json())
    assert sorted(record["keyTaxcodeID"] for record in squizz.records(TAXCODES)) == ["A", "B"]


# Upsert semantics --------------------------------------------------------------------


def test_data_fields_decide_which_fields_are_saved(squizz):
    first = {"keyTaxcodeID": "T", "taxcode": "GST", "taxcodeLabel": "Goods", "description": "not listed"}
    assert_imported(squizz.import_esd(TAXCODES, esd([first], "keyTaxcodeID,taxcode,taxcodeLabel")))
    assert squizz.records(TAXCODES) == [
        {"keyTaxcodeID": "T", "taxcode": "GST", "taxcodeLabel": "Goods", "active": True, "unassigned_references": {}}
    ]

    second = {"keyTaxcodeID": "T", "taxcode": "CHANGED", "taxcodePercentageRate": 10}
    assert_imported(squizz.import_esd(TAXCODES, esd([second], "keyTaxcodeID,taxcodePercentageRate")))
    stored = squizz.records(TAXCODES)[0]
    assert (stored["taxcode"], stored["taxcodeLabel"], stored["taxcodePercentageRate"]) == ("GST", "Goods", 10)

    # A listed field the record leaves out takes the table's default value.
    assert_imported(squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "T"}], "keyTaxcodeID,taxcodeLabel")))
    assert squizz.records(TAXCODES)[0]["taxcodeLabel"] == ""


def test_complete_upload_deactivates_what_it_does_not_contain(squizz):
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A", "B", "C", mode="COMPLETE")))
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A", "B", mode="COMPLETE")))

    active = {key: record["active"] for key, record in squizz.records_by_key(TAXCODES, "keyTaxcodeID").items()}
    assert active == {"A": True, "B": True, "C": False}

    assert_imported(squizz.import_esd(TAXCODES, taxcodes("C", mode="INCREMENT")))
    active = {key: record["active"] for key, record in squizz.records_by_key(TAXCODES, "keyTaxcodeID").items()}
    assert active == {"A": True, "B": True, "C": True}


def test_increment_upserts_without_duplicates(squizz):
    import_catalogue(squizz)
    fields = PRICE_FIELDS + ",quantity"
    assert_imported(squizz.import_esd(QUANTITY_PRICES, esd([price("P-1", 9, quantity=5), price("P-1", 8, quantity=10)], fields)))
    assert_imported(squizz.import_esd(QUANTITY_PRICES, esd([price("P-1", 7, quantity=5.0)], fields)))

    breaks = {record["quantity"]: record["price"] for record in squizz.records(QUANTITY_PRICES)}
    assert breaks == {5: 7, 10: 8}


def test_drop_3_deactivates_and_drop_4_leaves_alone(squizz):
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A", "B")))
    records = [{"keyTaxcodeID": "A", "drop": 3}, {"keyTaxcodeID": "B", "taxcode": "IGNORED", "drop": 4}]
    assert_imported(squizz.import_esd(TAXCODES, esd(records, "keyTaxcodeID,taxcode")))

    stored = squizz.records_by_key(TAXCODES, "keyTaxcodeID")
    assert stored["A"]["active"] is False
    assert (stored["B"]["active"], stored["B"]["taxcode"]) == (True, "B")


# References ---------------------------------------------------------------------------


def test_reference_imported_out_of_order_is_not_assigned_until_imported_in_order(squizz):
    product = {"keyProductID": "P-1", "keyTaxcodeID": "GST", "keySellUnitID": "EA", "sellUnits": [{"keySellUnitID": "EA", "baseQuantity": 1}]}
    document = esd([product], "keyProductID,keyTaxcodeID,keySellUnitID,sellUnits")

    assert_imported(squizz.import_esd(PRODUCTS, document))
    stored = squizz.records(PRODUCTS)[0]
    assert (stored["keyTaxcodeID"], stored["keySellUnitID"], stored["sellUnits"]) == (None, None, [])
    assert stored["unassigned_references"] == {"keyTaxcodeID": "GST", "keySellUnitID": "EA", "sellUnits.keySellUnitID": ["EA"]}

    assert_imported(squizz.import_esd(TAXCODES, taxcodes("GST")))
    assert_imported(squizz.import_esd(SELL_UNITS, esd([{"keySellUnitID": "EA"}], "keySellUnitID")))
    assert_imported(squizz.import_esd(PRODUCTS, document))
    stored = squizz.records(PRODUCTS)[0]
    assert (stored["keyTaxcodeID"], stored["keySellUnitID"]) == ("GST", "EA")
    assert [unit["keySellUnitID"] for unit in stored["sellUnits"]] == ["EA"]
    assert stored["unassigned_references"] == {}


def test_price_for_a_product_not_yet_imported_is_not_stored(squizz):
    import_catalogue(squizz)

    assert_imported(squizz.import_esd(UNIT_PRICES, esd([price("P-1", 10), price("P-404", 10)], PRICE_FIELDS)))

    assert [record["keyProductID"] for record in squizz.records(UNIT_PRICES)] == ["P-1"]
    last_import = squizz.stats()["imports"][-1]
    assert last_import["unassigned"] == [
        {"record": 1, "key": "keyProductID=P-404, keyPriceLevelID=PL1, keySellUnitID=EA", "field": "keyProductID", "value": "P-404"}
    ]
    assert last_import["tokens"] == 2, "both records were imported, so both cost a token"


def test_location_stock_is_upserted_per_location_and_product(squizz):
    assert_imported(squizz.import_esd(PRODUCTS, products("P-1", "P-2")))
    first = {"keyLocationID": "L1", "locationType": "WAREHOUSE", "productStock": [
        {"keyProductID": "P-1", "qtyAvailable": 5}, {"keyProductID": "P-404", "qtyAvailable": 1}]}
    assert_imported(squizz.import_esd(LOCATIONS, location_document([first])))
    stored = squizz.records(LOCATIONS)[0]
    assert stored["locationType"] == "WAREHOUSE"
    assert stored["productStock"] == [{"keyProductID": "P-1", "qtyAvailable": 5}]
    assert stored["unassigned_references"] == {"productStock.keyProductID": ["P-404"]}

    second = {"keyLocationID": "L1", "productStock": [{"keyProductID": "P-2", "qtyAvailable": 3}, {"keyProductID": "P-1", "qtyAvailable": 7}]}
    assert_imported(squizz.import_esd(LOCATIONS, location_document([second])))
    stock = {line["keyProductID"]: line["qtyAvailable"] for line in squizz.records(LOCATIONS)[0]["productStock"]}
    assert stock == {"P-1": 7, "P-2": 3}


def test_stock_quantities_update_the_products_stock(squizz):
    assert_imported(squizz.import_esd(PRODUCTS, products("P-1")))

    assert_imported(squizz.import_esd(STOCK_QUANTITIES, esd([{"keyProductID": "P-1", "qtyAvailable": -4}], "keyProductID,qtyAvailable")))

    assert squizz.records(PRODUCTS)[0]["stockQuantity"] == -4
    assert squizz.records(STOCK_QUANTITIES)[0]["qtyAvailable"] == -4


def test_customer_account_keeps_known_ids_and_lists_unknown_ones(squizz):
    payment_types = esd([{"keyPaymentTypeID": "CC", "paymentMethod": "CREDITCARD"}], "keyPaymentTypeID,paymentMethod")
    assert_imported(squizz.import_esd(PAYMENT_TYPES, payment_types))
    account = {**ACCOUNT, "keyPaymentTypeIDs": ["CC", "BITCOIN"], "keyPriceLevelID": "VIP"}

    assert_imported(squizz.import_esd(CUSTOMER_ACCOUNTS, esd([account], ACCOUNT_FIELDS + ",keyPaymentTypeIDs,keyPriceLevelID")))

    stored = squizz.records(CUSTOMER_ACCOUNTS)[0]
    assert (stored["keyPaymentTypeIDs"], stored["keyPriceLevelID"]) == (["CC"], None)
    assert stored["unassigned_references"] == {"keyPaymentTypeIDs": ["BITCOIN"], "keyPriceLevelID": "VIP"}


def test_price_groups_keep_known_members(squizz):
    import_catalogue(squizz)
    assert_imported(squizz.import_esd(CUSTOMER_ACCOUNTS, esd([ACCOUNT], ACCOUNT_FIELDS)))
    record = {"keyProductID": "P-1", "keyPriceGroupID": "PG-1", "keySellUnitID": "EA", "price": 3.3, "quantity": 5}
    document = esd([record], "keyProductID,keyPriceGroupID,keySellUnitID,price,quantity", priceGroups={"PG-1": ["C-1", "C-404"]})

    assert_imported(squizz.import_esd(ACCOUNT_PRICES, document))

    read_back = squizz.http.get(f"{squizz.admin_url}/records/{ACCOUNT_PRICES}").json()
    assert read_back["priceGroups"] == {"PG-1": ["C-1"]}
    assert read_back["records"][0]["unassigned_references"] == {"priceGroups.PG-1": ["C-404"]}


def test_sell_unit_parent_may_point_into_the_same_upload(squizz):
    units = [
        {"keySellUnitID": "EA", "isBaseUnit": "Y"},
        {"keySellUnitID": "PK", "isBaseUnit": "N", "keySellUnitParentID": "EA", "baseQuantity": 6},
        {"keySellUnitID": "CT", "isBaseUnit": "N", "keySellUnitParentID": "BOX"},
    ]

    assert_imported(squizz.import_esd(SELL_UNITS, esd(units, "keySellUnitID,isBaseUnit,keySellUnitParentID,baseQuantity")))

    stored = squizz.records_by_key(SELL_UNITS, "keySellUnitID")
    assert stored["PK"]["keySellUnitParentID"] == "EA"
    assert stored["CT"]["keySellUnitParentID"] is None
    assert stored["CT"]["unassigned_references"] == {"keySellUnitParentID": "BOX"}
    assert stored["CT"]["baseQuantity"] == 1, "listed but left out: the seed's default"


# Trading tokens ------------------------------------------------------------------------


def test_tokens_are_charged_per_record_and_never_for_a_rejected_document(squizz):
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A", "B", "C")))
    rejected = squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "D"}, {"keyTaxcodeID": 4}], "keyTaxcodeID"))
    assert result_code(rejected) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"

    stats = squizz.stats()
    assert (stats["tokens_spent"], stats["tokens_by_type"], stats["records_by_type"]) == (3, {"1": 3}, {"1": 3})
    assert stats["imports_by_type"] == {"1": 1}
    assert [(i["import_type_id"], i["dataTransferMode"], i["records"], i["result_code"]) for i in stats["imports"]] == [
        (1, "INCREMENT", 3, "SERVER_SUCCESS"),
        (1, "INCREMENT", 2, "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"),
    ]


def test_insufficient_credit_imports_nothing(squizz):
    squizz.admin("config", {"token_balance": 2, "token_cost_by_type": {"3": 2}})

    assert result_code(squizz.import_esd(TAXCODES, taxcodes("A", "B", "C"))) == "SERVER_ERROR_INSUFFICIENT_CREDIT"
    assert squizz.records(TAXCODES) == []
    assert_imported(squizz.import_esd(PRODUCTS, products("P-1")))
    assert result_code(squizz.import_esd(TAXCODES, taxcodes("A"))) == "SERVER_ERROR_INSUFFICIENT_CREDIT"

    stats = squizz.stats()
    assert (stats["token_balance"], stats["tokens_spent"], stats["tokens_by_type"]) == (0, 2, {"3": 2})


# Retryable refusals and reply shapes ------------------------------------------------------


def test_busy_and_max_imports_running_answer_the_next_imports(squizz):
    squizz.admin("config", {"busy_next": 2, "max_imports_running_next": 1})

    codes = [result_code(squizz.import_esd(TAXCODES, taxcodes("A"))) for _ in range(4)]

    assert codes == [
        "SERVER_ERROR_DATA_IMPORT_BUSY",
        "SERVER_ERROR_DATA_IMPORT_BUSY",
        "SERVER_ERROR_DATA_IMPORT_MAX_IMPORTS_RUNNING",
        "SERVER_SUCCESS",
    ]
    assert squizz.stats()["tokens_spent"] == 1


def test_reply_shape_can_be_esd_or_flat(squizz):
    assert squizz.import_esd(TAXCODES, taxcodes("A")) == {
        "resultStatus": 1,
        "message": "",
        "configs": {"api_version": "1.0.0.0", "result_code": "SERVER_SUCCESS"},
    }

    squizz.admin("config", {"reply_shape": "flat"})

    assert squizz.import_esd(TAXCODES, taxcodes("A")) == {
        "result": "SUCCESS",
        "result_code": "SERVER_SUCCESS",
        "result_message": "",
        "api_version": "1.0.0.0",
    }
    failure = squizz.import_esd(TAXCODES, esd([], "keyTaxcodeID"))
    assert (failure["result"], failure["result_code"]) == ("FAILURE", "SERVER_ERROR_ESD_DOCUMENT_NO_RECORD")
    assert failure["result_message"]


def test_reply_shape_can_be_chosen_at_start():
    with start_sandboxes(squizz_reply_shape="flat") as running:
        reply = SquizzClient(running.base_url).import_esd(TAXCODES, taxcodes("A"))
    assert reply["result"] == "SUCCESS"


# Fault injection --------------------------------------------------------------------------


def assert_nothing_imported(squizz: SquizzClient) -> None:
    assert squizz.records(TAXCODES) == []
    assert squizz.stats()["imports"] == []


def test_rate_limit_answers_429_with_retry_after_and_changes_nothing(squizz):
    squizz.session_id  # noqa: B018 - sessions are not subject to faults by default
    squizz.admin("faults", {"rate_limit": 1.0, "retry_after_seconds": 2})

    response = squizz.send_esd(TAXCODES, taxcodes("A"))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert_nothing_imported(squizz)
    assert squizz.stats()["faults_injected"] == {"rate_limit": 1}

    squizz.admin("faults", {})
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A")))


def test_server_errors_can_be_scripted(squizz):
    squizz.session_id  # noqa: B018
    squizz.admin("faults", {"sequence": ["500", "502", "503", "ok"]})

    statuses = [squizz.send_esd(TAXCODES, taxcodes(name)).status_code for name in "ABCD"]

    assert statuses == [500, 502, 503, 200]
    assert [record["keyTaxcodeID"] for record in squizz.records(TAXCODES)] == ["D"]


def test_timeout_makes_a_short_timeout_client_give_up_and_changes_nothing(squizz):
    squizz.session_id  # noqa: B018
    squizz.admin("faults", {"timeout": 1.0, "timeout_seconds": 0.6})

    with pytest.raises(requests.Timeout):
        squizz.send_esd(TAXCODES, taxcodes("A"), timeout=0.2)

    time.sleep(0.6)  # past the injected delay: the request was still not processed
    assert_nothing_imported(squizz)


def test_dropped_connection_raises_connection_error_and_changes_nothing(squizz):
    squizz.session_id  # noqa: B018
    squizz.admin("faults", {"drop": 1.0})

    with pytest.raises(requests.ConnectionError):
        squizz.send_esd(TAXCODES, taxcodes("A"))

    assert_nothing_imported(squizz)


def test_seeded_faults_replay_identically(squizz):
    squizz.session_id  # noqa: B018
    settings = {"seed": 7, "rate_limit": 0.3, "server_error": 0.3}

    def statuses() -> list[int]:
        squizz.admin("faults", settings)
        return [squizz.send_esd(TAXCODES, taxcodes("A")).status_code for _ in range(12)]

    first = statuses()
    assert statuses() == first
    assert 200 in first and 429 in first and any(status >= 500 for status in first)


def test_faults_can_apply_to_create_session(squizz):
    session_id = squizz.session_id
    squizz.admin("faults", {"drop": 1.0, "apply_to": ["create_session"]})

    with pytest.raises(requests.ConnectionError):
        squizz.create_session()
    assert_imported(squizz.import_esd(TAXCODES, taxcodes("A"), session_id=session_id))


def test_reject_rule_fails_the_document_containing_the_record(squizz):
    squizz.admin("faults", {"reject": [{"import_type_id": 3, "key": "P-2", "code": "DUPLICATE_BARCODE", "message": "barcode in use"}]})

    reply = squizz.import_esd(PRODUCTS, products("P-1", "P-2"))

    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert reply["message"] == "record 1 (keyProductID=P-2): DUPLICATE_BARCODE: barcode in use"
    assert squizz.records(PRODUCTS) == []
    assert_imported(squizz.import_esd(PRODUCTS, products("P-1")))


@pytest.mark.parametrize(
    "settings",
    [{"rate_limit": 2}, {"colour": 1}, {"apply_to": ["validate_session"]}, {"sequence": ["404"]}, {"reject": [{"key": "P"}]}],
)
def test_bad_fault_settings_are_refused(squizz, settings):
    response = squizz.http.post(f"{squizz.admin_url}/faults", json=settings)

    assert response.status_code == 400
    assert response.json()["error"]


# State -----------------------------------------------------------------------------------


def test_state_survives_a_restart_on_the_same_state_dir(tmp_path):
    with start_sandboxes(state_dir=tmp_path) as first:
        client = SquizzClient(first.base_url)
        assert_imported(client.import_esd(TAXCODES, taxcodes("A", "B", mode="COMPLETE")))
        assert_imported(client.import_esd(TAXCODES, taxcodes("A", mode="COMPLETE")))
        assert_imported(client.import_esd(PRODUCTS, esd([{"keyProductID": "P-1", "keyTaxcodeID": "X"}], "keyProductID,keyTaxcodeID")))
        old_session = client.session_id
        before = {type_id: client.records(type_id) for type_id in (TAXCODES, PRODUCTS)}

    with start_sandboxes(state_dir=tmp_path) as second:
        client = SquizzClient(second.base_url)
        assert {type_id: client.records(type_id) for type_id in (TAXCODES, PRODUCTS)} == before
        assert client.stats()["tokens_spent"] == 4
        assert result_code(client.import_esd(TAXCODES, taxcodes("C"), session_id=old_session)) == "SERVER_ERROR_SESSION_INVALID"
        assert_imported(client.import_esd(TAXCODES, taxcodes("C")))
        assert len(client.records(TAXCODES)) == 3


def test_reset_forgets_everything_including_what_was_persisted(tmp_path):
    with start_sandboxes(state_dir=tmp_path) as first:
        client = SquizzClient(first.base_url)
        assert_imported(client.import_esd(TAXCODES, taxcodes("A")))
        client.admin("config", {"reply_shape": "flat"})
        assert client.admin("reset") == {"status": "reset"}
        assert client.records(TAXCODES) == []
        assert client.stats()["tokens_spent"] == 0
        assert client.http.get(f"{client.admin_url}/config").json()["reply_shape"] == "esd"

    with start_sandboxes(state_dir=tmp_path) as second:
        assert SquizzClient(second.base_url).records(TAXCODES) == []


def test_ten_thousand_records_import_in_seconds(squizz):
    records = [{"keyProductID": f"P-{i}", "name": f"Product {i}", "stockQuantity": i / 4} for i in range(10_000)]
    fields = "keyProductID,name,stockQuantity"

    started = time.perf_counter()
    assert_imported(squizz.import_esd(PRODUCTS, esd(records, fields, "COMPLETE"), timeout=30))
    assert_imported(squizz.import_esd(PRODUCTS, esd(records[1:], fields, "COMPLETE"), timeout=30))
    elapsed = time.perf_counter() - started

    stored = squizz.records(PRODUCTS)
    assert len(stored) == 10_000
    assert [record["keyProductID"] for record in stored if not record["active"]] == ["P-0"]
    assert elapsed < 10, f"two 10k-record imports took {elapsed:.1f}s"
