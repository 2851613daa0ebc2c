"""The Norce Connect sandbox over real HTTP: tokens, header, bodies, FieldsThatAreSet, list deltas, jobs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY
from b2b_assets.sandbox.serve import RunningSandboxes, start_sandboxes

APP = DEFAULT_APPLICATION_KEY
COMPANY_FIELDS = ["ApplicationKey", "Code", "Name", "IsActive"]
CUSTOMER_FIELDS = ["Code", "FirstName", "LastName", "EmailAddress", "Companies"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Norce:
    """Just enough of a Connect client to drive the sandbox."""

    def __init__(self, base_url: str):
        self.root = f"{base_url}/norce"
        self.connect = f"{self.root}/commerce/connect/4.0"
        self.http = requests.Session()
        self._token: str | None = None

    def token_reply(self, secret: str = "sandbox-secret") -> requests.Response:
        form = {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": secret}
        return self.http.post(f"{self.root}/identity/1.0/connect/token", data=form, timeout=5)

    @property
    def token(self) -> str:
        if self._token is None:
            reply = self.token_reply()
            assert reply.status_code == 200, reply.text
            self._token = reply.json()["access_token"]
        return self._token

    def post(self, operation: str, body: Any, header: dict[str, Any] | None = None, *,
             content_type: str = "application/json", raw: bytes | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        if header is not None:
            headers["X-StormConnect-Header"] = json.dumps(header)
        data = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(f"{self.connect}/Customer/{operation}", data=data, headers=headers, timeout=5)

    def run(self, operation: str, body: Any, header: dict[str, Any], **kwargs: Any) -> tuple[dict, list[dict]]:
        reply = self.post(operation, body, header, **kwargs)
        assert reply.status_code == 200, reply.text
        return self.job(reply.json()["JobId"])

    def job(self, job_id: int) -> tuple[dict, list[dict]]:
        auth = {"Authorization": f"Bearer {self.token}"}
        status = self.http.get(f"{self.connect}/Job/Get", params={"id": job_id}, headers=auth, timeout=5).json()
        log = self.http.get(f"{self.connect}/Job/GetLog", params={"id": job_id}, headers=auth, timeout=5).json()
        return status, log

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = f"{self.root}/_admin/{path}"
        reply = self.http.post(url, json=payload or {}, timeout=5) if payload is not None else self.http.get(url, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()


def company_header(fields=COMPANY_FIELDS, **extra: Any) -> dict[str, Any]:
    return {"AccountId": 1, "CompanyFieldsThatAreSet": fields, "SerializationType": "JSON", **extra}


def customer_header(fields=CUSTOMER_FIELDS, **extra: Any) -> dict[str, Any]:
    return {"AccountId": 1, "CustomerFieldsThatAreSet": fields, "SerializationType": "JSON", **extra}


def company(code: str, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    return {"ApplicationKey": APP, "Code": code, "Name": name, "IsActive": True, **fields}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def running(clock: FakeClock):
    with start_sandboxes(norce_clock=clock) as sandboxes:
        yield sandboxes


@pytest.fixture
def norce(running: RunningSandboxes) -> Norce:
    return Norce(running.base_url)


def by_code(records: list[dict]) -> dict[str, dict]:
    return {record["Code"]: record for record in records}


def test_tokens_are_client_credentials_rate_limited_and_expire(norce: Norce, clock: FakeClock) -> None:
    assert norce.token_reply("wrong").json() == {"error": "invalid_client"}
    first = norce.token_reply().json()
    assert first["token_type"] == "Bearer" and first["expires_in"] == 3600
    limited = norce.token_reply()  # the third request of the minute (the failed one counts too)
    assert limited.status_code == 200
    refused = norce.token_reply()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    clock.now += 61
    assert norce.token_reply().status_code == 200

    norce._token = first["access_token"]
    assert norce.run("ImportCompanies", [company("C1")], company_header())[0]["StatusId"] == 2
    clock.now += 3600
    expired = norce.post("ImportCompanies", [company("C2")], company_header())
    assert expired.status_code == 401 and "Bearer" in expired.headers["WWW-Authenticate"]
    assert "sandbox-secret" not in json.dumps(norce.admin("stats"))


def test_companies_land_from_a_json_array_back_to_back_objects_and_xml(norce: Norce) -> None:
    status, log = norce.run("ImportCompanies", [company("C1", "One"), company("C2", "Two")], company_header())
    assert status["StatusId"] == 2 and status["IsFinished"] and status["NrOfInserts"] == 2
    assert log[-1]["Severity"] == 1

    streamed = (json.dumps(company("C3", "Three")) + "\n" + json.dumps(company("C1", "One renamed"))).encode()
    assert norce.run("ImportCompanies", None, company_header(), raw=streamed)[0]["NrOfUpdates"] == 1

    xml = (f"<ArrayOfCompany><Company><ApplicationKey>{APP}</ApplicationKey><Code>C4</Code><Name>Four</Name>"
           "<IsActive>false</IsActive><PaymentMethods><PaymentMethod><Code>CARD</Code></PaymentMethod>"
           "</PaymentMethods></Company></ArrayOfCompany>").encode()
    header = {"AccountId": 1, "CompanyFieldsThatAreSet": [0, 2, 4, 9, 18], "SerializationType": 1}
    assert norce.run("ImportCompanies", None, header, raw=xml, content_type="application/xml")[0]["StatusId"] == 2
    stored = by_code(norce.admin("companies"))
    assert stored["C1"]["Name"] == "One renamed" and stored["C3"]["Name"] == "Three"
    assert stored["C4"]["IsActive"] is False and stored["C4"]["PaymentMethods"] == [{"Code": "CARD"}]

    names_in_xml = {**header, "CompanyFieldsThatAreSet": ["Code"]}
    refused = norce.post("ImportCompanies", None, names_in_xml, raw=xml, content_type="application/xml")
    assert refused.status_code == 400 and "integers" in refused.json()["Message"]


@pytest.mark.parametrize("header, content_type, status, words", [
    (None, "application/json", 400, "missing"),
    (company_header(Nonsense=1), "application/json", 400, "unknown members"),
    (company_header(fields=["Code", "Colour"]), "application/json", 400, "'Colour'"),
    ({"CompanyFieldsThatAreSet": ["Code"]}, "application/json", 400, "AccountId"),
    (company_header(AccountId=7), "application/json", 403, "AccountId 7"),
    (company_header(CustomerFieldsThatAreSet=["Code"]), "application/json", 400, "'Customers'"),
    (company_header(), "text/plain", 415, "Content-Type"),
])
def test_a_bad_header_or_content_type_creates_no_job(norce: Norce, header, content_type, status, words) -> None:
    reply = norce.post("ImportCompanies", [company("C1")], header, content_type=content_type)
    assert reply.status_code == status and words in reply.json()["Message"]
    assert norce.admin("jobs") == []


def test_a_listed_field_the_body_lacks_is_cleared_and_an_unlisted_one_is_ignored(norce: Norce) -> None:
    norce.run("ImportCompanies", [company("C1", PhoneNumber="+46 8 1", VatNo="SE1")],
              company_header(COMPANY_FIELDS + ["PhoneNumber", "VatNo"]))
    status, _ = norce.run("ImportCompanies", [{"ApplicationKey": APP, "Code": "C1", "Name": "Acme", "VatNo": "SE2"}],
                          company_header(["ApplicationKey", "Code", "Name", "PhoneNumber"]))
    stored = by_code(norce.admin("companies"))["C1"]
    assert stored["PhoneNumber"] is None and stored["VatNo"] == "SE1"
    assert status["FieldsCleared"] == {"PhoneNumber": 1}


def test_invalid_records_fail_with_a_log_row_naming_their_code_while_the_others_land(norce: Norce) -> None:
    norce.run("ImportCompanies", [company("C1")], company_header())
    customers = [
        {"Code": "U1", "FirstName": "Ann", "LastName": "Lee", "EmailAddress": "a@x.example", "Companies": [{"Code": "C1"}]},
        {"Code": "U2", "FirstName": "Bo", "LastName": "x" * 51, "EmailAddress": "b@x.example", "Companies": []},
        {"Code": "U3", "FirstName": "Cy", "LastName": "Wu", "EmailAddress": "c@x.example", "Companies": [{"Code": "NOPE"}]},
    ]
    status, log = norce.run("ImportCustomers", customers, customer_header())
    assert status["StatusId"] == 4 and status["NrOfInserts"] == 1 and status["NrOfFailures"] == 2
    errors = [row["Message"] for row in log if row["Severity"] == 3]
    assert any("'U2'" in m and "LastName" in m and "51 characters" in m for m in errors)
    assert any("'U3'" in m and "'NOPE' does not exist" in m for m in errors)
    assert set(by_code(norce.admin("customers"))) == {"U1"}


def test_omitted_relations_are_deactivated_unless_the_list_is_a_delta(norce: Norce) -> None:
    norce.run("ImportCompanies", [company("C1"), company("C2")], company_header())
    both = {"Code": "U1", "Companies": [{"Code": "C1", "IsPrimary": True}, {"Code": "C2"}]}
    norce.run("ImportCustomers", [both], customer_header(["Code", "Companies"]))
    norce.run("ImportCustomers", [{"Code": "U1", "Companies": [{"Code": "C2"}], "IsCompanyListDelta": True}],
              customer_header(["Code", "Companies"]))
    relations = {r["Code"]: r for r in by_code(norce.admin("customers"))["U1"]["Companies"]}
    assert relations["C1"]["IsActive"] and relations["C1"]["IsPrimary"] and relations["C2"]["IsActive"]

    norce.run("ImportCustomers", [{"Code": "U1", "Companies": [{"Code": "C2"}]}], customer_header(["Code", "Companies"]))
    relations = {r["Code"]: r for r in by_code(norce.admin("customers"))["U1"]["Companies"]}
    assert not relations["C1"]["IsActive"] and relations["C2"]["IsActive"]
    assert {r["Code"]: r["IsActive"] for r in by_code(norce.admin("companies"))["C1"]["Customers"]} == {"U1": False}


def test_accounts_roles_must_exist_login_names_are_unique_and_passwords_are_create_only(norce: Norce, running) -> None:
    header = customer_header(["Code", "Accounts"], AccountFieldsThatAreSet=["Status", "Roles", "PasswordCreateOnly"])
    account = {"ApplicationKey": APP, "LoginName": "ann", "Password": "first", "Status": 1, "Roles": [{"Code": "User"}]}
    assert norce.run("ImportCustomers", [{"Code": "U1", "Accounts": [account]}], header)[0]["StatusId"] == 2
    changed = {**account, "Password": "second", "Status": "Inactive", "Roles": [{"Code": "Administrator"}]}
    norce.run("ImportCustomers", [{"Code": "U1", "Accounts": [changed]}], header)
    stored = by_code(norce.admin("customers"))["U1"]["Accounts"]
    assert stored == [{"LoginName": "ann", "ApplicationKey": APP, "Status": "Inactive", "HasPassword": True,
                       "Roles": [{"Code": "Administrator", "IsActive": True}]}]
    assert running.norce.password_matches("ann", "first") and not running.norce.password_matches("ann", "second")

    taken = {"Code": "U2", "Accounts": [{**account, "Roles": []}]}
    unknown_role = {"Code": "U3", "Accounts": [{**account, "LoginName": "cy", "Roles": [{"Code": "Wizard"}]}]}
    status, log = norce.run("ImportCustomers", [taken, unknown_role], header)
    errors = " ".join(row["Message"] for row in log if row["Severity"] == 3)
    assert status["StatusId"] == 4 and "'ann' belongs to another customer" in errors and "'Wizard' does not exist" in errors


def test_a_job_moves_through_its_phases_on_the_clock_and_changes_data_only_when_finished(norce: Norce, clock) -> None:
    norce.admin("config", {"job_phase_seconds": 10})
    job_id = norce.post("ImportCompanies", [company("C1")], company_header()).json()["JobId"]
    seen = []
    for _ in range(4):
        status, _ = norce.job(job_id)
        seen.append(status["StatusId"])
        if not status["IsFinished"]:
            assert norce.admin("companies") == []
        clock.now += 10
    assert seen == [1, 6, 5, 2]

    norce.admin("config", {"jobs_paused": True})
    paused = norce.post("ImportCompanies", [company("C2")], company_header()).json()["JobId"]
    clock.now += 1000
    assert norce.job(paused)[0]["StatusId"] == 6
    norce.admin("config", {"jobs_paused": False})
    assert norce.job(paused)[0]["StatusId"] == 2


def test_a_failed_job_imports_nothing_and_its_error_names_no_record(norce: Norce) -> None:
    norce.admin("config", {"fail_next_jobs": 1})
    status, log = norce.run("ImportCompanies", [company("C1")], company_header())
    assert status["StatusId"] == 3 and status["IsFinished"]
    assert [row for row in log if row["Severity"] == 3 and "C1" not in row["Message"]]
    assert norce.admin("companies") == []


def test_reject_rules_and_transport_faults(norce: Norce) -> None:
    norce.admin("faults", {"reject": [{"code": "C2", "message": "Duplicate OrganizationNo"}], "sequence": ["429"]})
    throttled = norce.post("ImportCompanies", [company("C1"), company("C2")], company_header())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    status, log = norce.run("ImportCompanies", [company("C1"), company("C2")], company_header())
    assert status["StatusId"] == 4
    assert [row["Message"] for row in log if row["Severity"] == 3] == ["Company 'C2': Duplicate OrganizationNo"]


def test_state_survives_a_restart(tmp_path) -> None:
    with start_sandboxes(state_dir=tmp_path) as first:
        client = Norce(first.base_url)
        client.run("ImportCompanies", [company("C1")], company_header())
        client.run("ImportCustomers", [{"Code": "U1", "Companies": [{"Code": "C1"}]}], customer_header(["Code", "Companies"]))
        before = client.admin("customers"), client.admin("jobs")
    with start_sandboxes(state_dir=tmp_path) as second:
        client = Norce(second.base_url)
        assert (client.admin("customers"), client.admin("jobs")) == before
        job_id = client.post("ImportCompanies", [company("C2")], company_header()).json()["JobId"]
        assert job_id == 3  # job ids continue
