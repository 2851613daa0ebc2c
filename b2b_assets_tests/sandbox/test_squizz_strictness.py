"""The SQUIZZ sandbox refuses what the platform's own tables refuse, with the platform's result code.

Each case here was accepted by an earlier, more lenient sandbox, so a client bug of that
kind could not fail a test. Every refused upload stores nothing and costs nothing.
"""

from __future__ import annotations

import gzip
import json
import re

import pytest

from .clients import API_KEY, API_PASSWORD, ORG_ID, esd, result_code

TAXCODES, PRODUCTS, UNIT_PRICES, QUANTITY_PRICES, LOCATIONS, SELL_UNITS = 1, 3, 4, 6, 23, 28
UNSUCCESSFUL = "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
PRICE_FIELDS = "keyProductID,keyPriceLevelID,keySellUnitID,price"
QUANTITY_BREAK = {"keyProductID": "P-1", "keyPriceLevelID": "PL1", "keySellUnitID": "EA", "price": 9.5, "quantity": 10}
LOCATION_FIELDS = {"dataFieldsLocation": "keyLocationID,productStock", "dataFieldsLocationStock": "keyProductID,qtyAvailable"}


def assert_refused_and_nothing_stored(squizz, import_type_id: int, reply: dict, code: str, reason: str) -> None:
    assert result_code(reply) == code, reply
    assert reason in reply["message"], reply["message"]
    assert squizz.records(import_type_id) == []
    assert squizz.stats()["tokens_spent"] == 0


def send_raw_json(squizz, import_type_id: int, text: str) -> dict:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return squizz.post_esd(import_type_id, gzip.compress(text.encode()), headers=headers).json()


# Fields a record's table lacks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "import_type_id, document, reason",
    [
        (TAXCODES, esd([{"keyTaxcodeID": "GST", "rate": 10}], "keyTaxcodeID"),
         "record 0 (keyTaxcodeID=GST): rate is not a field of taxcodes"),
        (PRODUCTS, esd([{"keyProductID": "P-1", "sellUnits": [{"keySellUnitID": "EA", "colour": "red"}]}], "keyProductID,sellUnits"),
         "record 0 (keyProductID=P-1): sellUnits[0].colour is not a field of sellUnits"),
        (LOCATIONS, esd([{"keyLocationID": "L-1", "productStock": [{"keyProductID": "P-1", "qtyAvailable": 1, "bin": "A3"}]}], "", configs=LOCATION_FIELDS),
         "record 0 (keyLocationID=L-1): productStock[0].bin is not a field of productStock"),
    ],
    ids=["record", "sellUnits", "productStock"],
)
def test_a_field_the_table_lacks_is_refused(squizz, import_type_id, document, reason):
    reply = squizz.import_esd(import_type_id, document)

    assert_refused_and_nothing_stored(squizz, import_type_id, reply, UNSUCCESSFUL, reason)


def test_quantity_prices_posted_as_unit_prices_are_refused_and_point_to_type_6(squizz):
    reply = squizz.import_esd(UNIT_PRICES, esd([QUANTITY_BREAK], PRICE_FIELDS + ",quantity"))
    # dataFields naming quantity is a header fault already; without it the record itself is refused.
    assert result_code(reply) == "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED"
    assert "quantity" in reply["message"]

    reply = squizz.import_esd(UNIT_PRICES, esd([QUANTITY_BREAK], PRICE_FIELDS))
    assert_refused_and_nothing_stored(
        squizz, UNIT_PRICES, reply, UNSUCCESSFUL,
        "quantity is not a field of price_level_unit_prices (quantity breaks are import type 6)",
    )
    assert result_code(squizz.import_esd(QUANTITY_PRICES, esd([QUANTITY_BREAK], PRICE_FIELDS + ",quantity"))) == "SERVER_SUCCESS"


# Fields dataFields does not list are checked all the same ------------------------------------


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"keyProductID": "P-1", "keySellUnitID": 2}, "keySellUnitID must be a string"),
        ({"keyProductID": "P-1", "name": "x" * 256}, "name is longer than 255 characters"),
        ({"keyProductID": "P-1", "sellUnits": [{"sellUnitLabel": "Each", "baseQuantity": 1}]}, "sellUnits[0].keySellUnitID is mandatory"),
    ],
    ids=["number-for-a-string", "over-long-string", "sell-unit-without-its-key"],
)
def test_fields_not_listed_in_data_fields_are_still_validated(squizz, record, reason):
    reply = squizz.import_esd(PRODUCTS, esd([record], "keyProductID"))

    assert_refused_and_nothing_stored(squizz, PRODUCTS, reply, UNSUCCESSFUL, f"record 0 (keyProductID=P-1): {reason}")


# The header --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, code, reason",
    [
        (None, "SERVER_ERROR_ESD_DOCUMENT_HEADER_MISSING_ATTRIBUTES", "the document header is missing totalDataRecords"),
        (3, "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED", "totalDataRecords is 3 but dataRecords holds 2 records"),
        (1, "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED", "totalDataRecords is 1 but dataRecords holds 2 records"),
        ("2", "SERVER_ERROR_ESD_DOCUMENT_HEADER_MALFORMED", "totalDataRecords is '2' but dataRecords holds 2 records"),
    ],
    ids=["missing", "too-many", "too-few", "text"],
)
def test_total_data_records_must_be_there_and_count_the_records(squizz, total, code, reason):
    document = esd([{"keyTaxcodeID": "A"}, {"keyTaxcodeID": "B"}], "keyTaxcodeID")
    if total is None:
        del document["totalDataRecords"]
    else:
        document["totalDataRecords"] = total

    assert_refused_and_nothing_stored(squizz, TAXCODES, squizz.import_esd(TAXCODES, document), code, reason)


@pytest.mark.parametrize(
    "text",
    [
        '{"dataTransferMode":"INCREMENT","dataTransferMode":"COMPLETE","totalDataRecords":1,'
        '"configs":{"dataFields":"keyTaxcodeID"},"dataRecords":[{"keyTaxcodeID":"A"}]}',
        '{"dataTransferMode":"INCREMENT","totalDataRecords":1,'
        '"configs":{"dataFields":"keyTaxcodeID"},"dataRecords":[{"keyTaxcodeID":"A","keyTaxcodeID":"B"}]}',
    ],
    ids=["in-the-header", "in-a-record"],
)
def test_duplicate_json_keys_are_malformed_json(squizz, text):
    reply = send_raw_json(squizz, TAXCODES, text)

    assert_refused_and_nothing_stored(squizz, TAXCODES, reply, "SERVER_ERROR_DATA_JSON_MALFORMED", "duplicate key")


# Dates ---------------------------------------------------------------------------------------

START_OF_2100 = 4_102_444_800_000  # 2100-01-01T00:00:00Z in epoch milliseconds


@pytest.mark.parametrize(
    "value, reason",
    [
        (-1, "conditionDateTime must be an epoch-milliseconds date from 1970 up to 2100"),
        (START_OF_2100, "conditionDateTime must be an epoch-milliseconds date from 1970 up to 2100"),
        (1_700_000_000, None),  # epoch seconds by mistake: a 1970 date, but a valid one
        (1.7e12, "conditionDateTime must be a whole number of milliseconds since 1970-01-01"),
    ],
    ids=["before-1970", "2100", "seconds-not-milliseconds", "float"],
)
def test_epoch_millisecond_dates_must_fall_from_1970_up_to_2100(squizz, value, reason):
    reply = squizz.import_esd(PRODUCTS, esd([{"keyProductID": "P-1", "conditionDateTime": value}], "keyProductID,conditionDateTime"))

    if reason is None:
        assert result_code(reply) == "SERVER_SUCCESS", reply
    else:
        assert_refused_and_nothing_stored(squizz, PRODUCTS, reply, UNSUCCESSFUL, reason)


def test_the_first_and_last_millisecond_of_the_range_are_accepted(squizz):
    records = [{"keyProductID": "P-1", "conditionNewDateTime": 0, "conditionDateTime": START_OF_2100 - 1}]

    assert result_code(squizz.import_esd(PRODUCTS, esd(records, "keyProductID,conditionNewDateTime,conditionDateTime"))) == "SERVER_SUCCESS"
    assert squizz.records(PRODUCTS)[0]["conditionDateTime"] == START_OF_2100 - 1


# create_session --------------------------------------------------------------------------------

CREDENTIALS = {"org_id": ORG_ID, "api_org_key": API_KEY, "api_org_pw": API_PASSWORD}


@pytest.mark.parametrize(
    "send",
    [
        lambda http, url: http.post(url, data=CREDENTIALS),
        lambda http, url: http.post(url, data={**CREDENTIALS, "create_session": "N"}),
        lambda http, url: http.post(url, json={**CREDENTIALS, "create_session": "Y"}),
        lambda http, url: http.post(url, params={**CREDENTIALS, "create_session": "Y"}),
    ],
    ids=["without-create_session", "create_session-N", "json-body", "query-string"],
)
def test_create_session_needs_a_form_body_asking_for_it(squizz, send):
    reply = send(squizz.http, f"{squizz.api}/create_session").json()

    assert (reply["result"], reply["result_code"], reply["session_id"], reply["session_valid"]) == (
        "FAILURE", "SERVER_ERROR_INVALID_API_ACTION", "", "N")
    assert "create_session=Y" in reply["result_message"]
    assert result_code(squizz.create_session()) == "SERVER_SUCCESS"  # the same credentials, sent properly


# What the sandbox received, for tests of clients ---------------------------------------------


def test_stats_show_the_version_and_transfer_mode_each_import_was_sent_with(squizz):
    squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "A"}], "keyTaxcodeID"))
    squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "A"}], "keyTaxcodeID", mode="COMPLETE", version="1.3"))

    imports = squizz.stats()["imports"]
    assert [(i["version"], i["dataTransferMode"], i["result_code"]) for i in imports] == [
        (1.5, "INCREMENT", "SERVER_SUCCESS"), ("1.3", "COMPLETE", "SERVER_SUCCESS")]


# The echo_secrets fault ----------------------------------------------------------------------


def test_echo_secrets_fault_makes_replies_carry_the_session_id_and_password(squizz):
    squizz.admin("faults", {"echo_secrets": True, "reject": [{"import_type_id": TAXCODES, "key": "BAD"}]})

    created = squizz.create_session()
    session_id = created["session_id"]
    refused = squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "BAD"}], "keyTaxcodeID"), session_id=session_id)
    wrong = squizz.create_session(password="typed-the-wrong-one")

    assert session_id in created["result_message"] and API_PASSWORD in created["result_message"]
    assert session_id in refused["message"] and API_PASSWORD in refused["message"]
    assert "typed-the-wrong-one" in wrong["result_message"]
    assert squizz.admin("faults", {})["echo_secrets"] is False
    quiet = squizz.import_esd(TAXCODES, esd([{"keyTaxcodeID": "GOOD"}], "keyTaxcodeID"))
    assert not re.search(r"session_id=|api_org_pw=", json.dumps(quiet))
