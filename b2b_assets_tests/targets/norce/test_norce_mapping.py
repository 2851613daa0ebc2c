"""Hub frames -> Norce documents -> the sandbox: the derived header claims exactly what the body carries."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.norce.client import NorceClient
from b2b_assets.targets.norce.connect import (
    LIST_DELTA_FLAGS,
    MixedFieldSets,
    account_fields_that_are_set,
    connect_header,
    encode_body,
)
from b2b_assets.targets.norce.json_documents import json_documents
from b2b_assets.targets.norce.mapping import companies_payload, customers_payload

from .canonical import ENVELOPE, OPTIONS, canonical_frames

WITH_PASSWORDS = dataclasses.replace(OPTIONS, credentials_system_of_record=True)
ACCOUNT_MEMBER = {"PasswordCreateOnly": "Password", "Status": "Status", "Roles": "Roles"}
PAYLOADS = {
    "companies": lambda frames: companies_payload(frames, OPTIONS),
    "customers": lambda frames: customers_payload(frames, OPTIONS),
    "customers with passwords": lambda frames: customers_payload(frames, WITH_PASSWORDS),
}


def wait(client: NorceClient, job_id: int):
    state = client.job(job_id)
    assert state.is_finished  # the sandbox runs jobs with no delay unless told otherwise
    return state, client.job_log(job_id)


@pytest.fixture
def running():
    with start_sandboxes() as sandboxes:
        yield sandboxes


@pytest.fixture
def client(running) -> NorceClient:
    with_client = NorceClient(f"{running.base_url}/norce", "sandbox-client", "sandbox-secret")
    yield with_client
    with_client.close()


@pytest.mark.parametrize("name", PAYLOADS)
def test_the_header_claims_exactly_the_members_every_document_carries(name: str) -> None:
    payload = PAYLOADS[name](canonical_frames())
    documents = payload.documents(payload.records, ENVELOPE)
    assert len(documents) == 2  # one record full, one with every optional value empty
    header = json.loads(connect_header(documents, payload.item_type, account_id=1))
    claimed = set(header["CompanyFieldsThatAreSet" if payload.item_type == "Company" else "CustomerFieldsThatAreSet"])
    for document in documents:
        assert claimed == set(document) - {LIST_DELTA_FLAGS[payload.item_type]}
        for entry in header.get("AccountFieldsThatAreSet", []):
            assert all(ACCOUNT_MEMBER[entry] in account for account in document["Accounts"])
    if payload.item_type == "Customer":
        sent_passwords = "Password" in documents[0]["Accounts"][0]
        assert ("PasswordCreateOnly" in header["AccountFieldsThatAreSet"]) is sent_passwords
        assert sent_passwords is (name == "customers with passwords")


def test_documents_that_carry_different_members_are_refused_before_anything_is_sent() -> None:
    payload = customers_payload(canonical_frames(), OPTIONS)
    documents = payload.documents(payload.records, ENVELOPE)
    del documents[1]["PhoneNumber"]
    with pytest.raises(MixedFieldSets, match="PhoneNumber"):
        connect_header(documents, "Customer", account_id=1)
    documents = payload.documents(payload.records, ENVELOPE)
    del documents[1]["Accounts"][0]["Roles"]
    with pytest.raises(MixedFieldSets, match="Roles"):
        account_fields_that_are_set(documents)


def test_company_and_customer_documents_carry_the_hub_values() -> None:
    frames = canonical_frames()
    company_payload = companies_payload(frames, OPTIONS)
    companies = {d["Code"]: d for d in company_payload.documents(company_payload.records, ENVELOPE)}
    full, empty = companies["C1"], companies["C2"]
    assert full["InvoiceAddress"]["Code"] == "C1-BILL" and full["InvoiceAddress"]["CountryCode"] == "SE"
    assert [a["Code"] for a in full["DeliveryAddresses"]] == ["C1-S1"]  # the inactive location is not a delivery address
    assert full["PaymentMethods"] == [{"Code": "ACCT"}, {"Code": "CC"}] and full["PriceLists"] == [{"Code": "TRADE"}]
    assert full["Discounts"] == [{"Type": "Category", "ValueCode": "ALL", "DiscountPercentage": 5.0}]
    assert full["OrganizationNo"] == "556012-3456" and full["IsActive"] is True
    assert empty["ParentCompanyCode"] == "C1" and empty["IsActive"] is False and empty["PaymentMethods"] == []
    assert empty["InvoiceAddress"]["Code"] == "C2-HQ" and empty["DeliveryAddresses"][0]["Code"] == "C2-HQ"
    assert list(companies) == ["C1", "C2"]  # parents first

    customer_payload = customers_payload(frames, WITH_PASSWORDS)
    customers = {d["Code"]: d for d in customer_payload.documents(customer_payload.records, ENVELOPE)}
    karin, taro = customers["U1"], customers["U2"]
    assert (karin["FirstName"], karin["MiddleName"], karin["LastName"]) == ("Karin", None, "van der Berg")
    assert (taro["FirstName"], taro["LastName"]) == ("太郎", "山田")
    assert karin["Accounts"] == [{"ApplicationKey": DEFAULT_APPLICATION_KEY, "LoginName": "karin", "Status": "Active",
                                  "Roles": [{"Code": "Administrator"}], "Password": "s3cret-1"}]
    assert taro["Accounts"][0]["LoginName"] == "taro@ahlens.example" and taro["Accounts"][0]["Roles"] == []
    assert taro["Accounts"][0]["Status"] == "Inactive" and taro["IsActive"] is False
    assert karin["Companies"] == [{"Code": "C1", "IsPrimary": True}] and karin["IsCompanyListDelta"] is True


@pytest.mark.parametrize("serialization", ["JSON", "XML"])
def test_the_sandbox_ends_equal_to_the_hub_and_nothing_is_cleared_by_accident(running, serialization) -> None:
    client = NorceClient(f"{running.base_url}/norce", "sandbox-client", "sandbox-secret", serialization=serialization)
    frames = canonical_frames()
    companies = companies_payload(frames, OPTIONS)
    customers = customers_payload(frames, WITH_PASSWORDS)
    running.norce.configure(account_roles=["Administrator", "User"])
    for payload in (companies, customers):
        documents = payload.documents(payload.records, ENVELOPE)
        state, log = wait(client, client.import_records(payload.item_type, documents))
        assert state.status_id == 2, [row.message for row in log]
    jobs = running.norce.jobs()
    assert [job["FieldsCleared"] for job in jobs] == [{}, {}]  # every claimed field was in the body

    stored = {c["Code"]: c for c in running.norce.companies()}
    assert stored["C1"]["Name"] == "Åhléns Storkök AB" and stored["C1"]["VatNo"] == "SE556012345601"
    assert stored["C1"]["InvoiceAddress"]["ZipCode"] == "111 22"
    assert stored["C1"]["DeliveryAddresses"][0]["AddressLine2"] == "Dock 3"
    assert stored["C2"]["ParentCompanyCode"] == "C1" and stored["C2"]["PhoneNumber"] is None
    people = {c["Code"]: c for c in running.norce.customers()}
    assert people["U1"]["CellPhoneNumber"] == "+46 70 1" and people["U2"]["LastName"] == "山田"
    assert people["U1"]["Companies"] == [{"Code": "C1", "IsPrimary": True, "IsActive": True}]
    assert people["U1"]["Accounts"][0]["Roles"] == [{"Code": "Administrator", "IsActive": True}]
    assert running.norce.password_matches("karin", "s3cret-1")
    client.close()


def test_an_emptied_hub_value_is_cleared_in_norce(running, client) -> None:
    frames = canonical_frames()
    payload = companies_payload(frames, OPTIONS)
    wait(client, client.import_records("Company", payload.documents(payload.records, ENVELOPE)))
    frames["organizations"].loc[0, "phone"] = None
    payload = companies_payload(frames, OPTIONS)
    wait(client, client.import_records("Company", payload.documents(payload.records, ENVELOPE)))
    assert {c["Code"]: c for c in running.norce.companies()}["C1"]["PhoneNumber"] is None


def test_a_moved_user_keeps_its_old_company_unless_mirror_mode_is_on(running, client) -> None:
    frames = canonical_frames()
    companies = companies_payload(frames, OPTIONS)
    wait(client, client.import_records("Company", companies.documents(companies.records, ENVELOPE)))
    for envelope in (ENVELOPE, dataclasses.replace(ENVELOPE, list_delta=False)):
        for organization in ("C1", "C2"):
            frames["users"].loc[0, "organization_number"] = organization
            payload = customers_payload(frames, OPTIONS)
            documents = payload.documents(payload.records, envelope)
            wait(client, client.import_records("Customer", documents, list_delta=envelope.list_delta))
        relations = {r["Code"]: r["IsActive"] for r in {c["Code"]: c for c in running.norce.customers()}["U1"]["Companies"]}
        assert relations == ({"C1": True, "C2": True} if envelope.list_delta else {"C1": False, "C2": True})


def test_xml_bodies_use_integer_enums() -> None:
    payload = customers_payload(canonical_frames(), OPTIONS)
    body, content_type = encode_body(payload.documents(payload.records, ENVELOPE), "Customer", "XML")
    assert content_type == "application/xml" and b"<Status>1</Status>" in body and b"<Status>2</Status>" in body
    header = json.loads(connect_header(payload.documents(payload.records, ENVELOPE), "Customer", account_id=1, serialization="XML"))
    assert all(isinstance(entry, int) for entry in header["CustomerFieldsThatAreSet"] + header["AccountFieldsThatAreSet"])


@pytest.mark.parametrize("name", PAYLOADS)
@pytest.mark.parametrize("list_delta", [True, False])
def test_the_json_body_written_from_columns_is_the_documents_json(name: str, list_delta: bool) -> None:
    payload = PAYLOADS[name](canonical_frames())
    envelope = dataclasses.replace(ENVELOPE, list_delta=list_delta)
    rows = payload.records.iloc[::-1]  # out of payload order, as a batch may be
    written = json_documents(payload, rows, envelope)
    body, _ = encode_body(payload.documents(rows, envelope), payload.item_type)
    # Decimals as exact numbers: the columns spell 12.50 as 12.5, the same number.
    assert json.loads(written.text, parse_float=Decimal) == json.loads(body, parse_float=Decimal)
    assert len(written) == len(rows)
