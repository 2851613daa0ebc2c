"""The JOOR Bulk Connection sandbox over real HTTP: auth, both encodings, the seed table, jobs, credits, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from lxml import etree

from b2b_assets.sandbox.serve import start_sandboxes

from .joor_data import FakeClock, connection, to_xml

TOKEN = "sandbox-token"


class Joor:
    """Just enough of a Bulk Connection client to drive the sandbox over HTTP."""

    def __init__(self, base_url: str):
        self.api = f"{base_url}/joor/v2/bulk-connection"
        self.admin_url = f"{base_url}/joor/_admin"
        self.http = requests.Session()

    def headers(self, media: str = "application/json", token: str = TOKEN, scheme: str = "OAuth2") -> dict[str, str]:
        return {"Authorization": f"{scheme} {token}", "Accept": media, "Content-Type": media}

    def post(self, connections: list[dict[str, Any]], media: str = "application/json", **header_args: Any) -> requests.Response:
        body = json.dumps({"bulk_connections": {"connection": connections}}).encode() if media == "application/json" \
            else to_xml(connections)
        return self.http.post(self.api, data=body, headers=self.headers(media, **header_args), timeout=5)

    def get(self, job_id: int, media: str = "application/json") -> requests.Response:
        return self.http.get(f"{self.api}/{job_id}", headers=self.headers(media), timeout=5)

    def job(self, job_id: int) -> dict[str, Any]:
        reply = self.get(job_id).json()["bulk_connections"]
        return reply["bulk_connections_jobs"][0] | {"response": reply["response"]}

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if payload is None:
            return self.http.get(f"{self.admin_url}/{path}", timeout=5).json()
        reply = self.http.post(f"{self.admin_url}/{path}", json=payload, timeout=5)
        reply.raise_for_status()
        return reply.json()

    def stored(self) -> dict[str, dict[str, Any]]:
        return {c["customer_code"]: c for c in self.admin("connections")["connections"]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def joor(clock: FakeClock):
    with start_sandboxes(joor_clock=clock) as running:
        yield Joor(running.base_url)


def job_id_of(response: requests.Response) -> int:
    assert response.status_code == 200, response.text
    reply = response.json()["bulk_connections"]
    assert reply["response"] == {"code": 0}
    return reply["bulk_connections_jobs"][0]["bulk_connections_job_id"]


def test_a_json_job_is_queued_started_then_finished_and_stores_the_connections(joor: Joor, clock: FakeClock) -> None:
    joor.admin("config", {"queued_seconds": 10, "seconds_per_record": 5})
    reply = joor.post([connection("A"), connection("B")])
    job = reply.json()["bulk_connections"]["bulk_connections_jobs"][0]
    assert (job["status"], job["connection_record_count"], job["connection_record_progress"]) == ("queued", 2, 0)
    assert joor.stored() == {}

    clock.advance(16)
    job = joor.job(job["bulk_connections_job_id"])
    assert (job["status"], job["connection_record_progress"]) == ("started", 1)
    assert joor.stored() == {}

    clock.advance(5)
    job = joor.job(job["bulk_connections_job_id"])
    assert (job["status"], job["connection_record_progress"]) == ("finished", 2)
    assert joor.stored() == {"A": connection("A"), "B": connection("B")}


def test_jobs_run_one_at_a_time_in_the_order_received(joor: Joor, clock: FakeClock) -> None:
    joor.admin("config", {"seconds_per_record": 10})
    first, second = job_id_of(joor.post([connection("A")])), job_id_of(joor.post([connection("B")]))
    assert (joor.job(first)["status"], joor.job(second)["status"]) == ("started", "queued")
    clock.advance(10)
    assert (joor.job(first)["status"], joor.job(second)["status"]) == ("finished", "started")
    clock.advance(10)
    assert joor.job(second)["status"] == "finished"


def test_xml_upload_is_stored_as_the_same_connection_and_the_reply_is_xml(joor: Joor) -> None:
    reply = joor.post([connection("X")], media="application/xml")
    assert reply.headers["Content-Type"] == "application/xml"
    root = etree.fromstring(reply.content)
    assert root.findtext("response/code") == "0"
    job_id = int(root.findtext("bulk_connections_jobs/bulk_connection_job/bulk_connections_job_id"))
    assert root.findtext("bulk_connections_jobs/bulk_connection_job/status") in ("queued", "started", "finished")
    assert joor.job(job_id)["status"] == "finished"
    assert joor.stored()["X"] == connection("X")


def test_a_wrong_scheme_or_token_is_refused_with_401_without_echoing_the_token(joor: Joor) -> None:
    for header_args in ({"scheme": "Bearer"}, {"token": "not-the-token"}):
        reply = joor.post([connection()], **header_args)
        assert reply.status_code == 401
        response = reply.json()["bulk_connections"]["response"]
        assert response["code"] != 0 and response["comment"] and response["log_id"]
        assert "not-the-token" not in reply.text and TOKEN not in reply.text
    assert joor.admin("stats")["jobs_created"] == 0


def test_media_types_are_required(joor: Joor) -> None:
    headers = joor.headers()
    reply = joor.http.post(joor.api, data=b"a,b", headers=headers | {"Content-Type": "text/csv"}, timeout=5)
    assert reply.status_code == 415
    reply = joor.http.get(f"{joor.api}/1", headers=headers | {"Accept": "text/html"}, timeout=5)
    assert reply.status_code == 406


@pytest.mark.parametrize("media", ["application/json", "application/xml"])
def test_the_seed_table_is_enforced_and_a_refused_request_creates_no_job(joor: Joor, media: str) -> None:
    bad = [
        connection("NONAME", customer_name=""),  # required
        connection("LONG" + "x" * 50),  # customer_code max 50
        connection("NOSTATE", billing={"billing_addresses": [{"billing_code": "B", "billing_city": "Sydney",
                                                              "billing_country": "AU"}]}),
        connection("NOZIP", customer_locations=[{"location_city": "Toronto", "location_country": "Canada"}]),
        connection("NOPRICE", price_types=None),
        connection("NOBUYER", buyers=[{"buyer_name": "Only a name"}]),
        connection("BADCOUNTRY", shipping={"shipping_addresses": [{"shipping_code": "S", "shipping_city": "X",
                                                                   "shipping_country": "Narnia"}]}),
    ]
    for record in bad:
        if record.get("price_types") is None:
            record.pop("price_types", None)
    reply = joor.post(bad, media=media)
    assert reply.status_code == 400
    comment = (reply.json()["bulk_connections"]["response"]["comment"] if media == "application/json"
               else etree.fromstring(reply.content).findtext("response/comment"))
    assert "7 problems" in comment
    for expected in ("(NONAME): customer_name: is required",
                     "customer_code: is 54 characters; the maximum is 50",
                     "(NOSTATE): billing.billing_addresses[0].billing_state: is required when the country is US, CA, JP or AU (it is AU)",
                     "(NOZIP): customer_locations[0].location_zip: is required when the country is US, CA, JP or AU (it is CA)",
                     "(NOPRICE): price_types: is required",
                     "(NOBUYER): buyers[0].buyer_email: is required",
                     "(BADCOUNTRY): shipping.shipping_addresses[0].shipping_country: 'Narnia' is not a country"):
        assert expected in comment
    assert joor.admin("stats")["jobs_created"] == 0


def test_types_and_cardinality_per_encoding(joor: Joor) -> None:
    reply = joor.post([connection("T", discounts=[{"amount": "4", "line_item_level": "true"}], warehouses=[],
                                  customer_phone=2125551212)])
    comment = reply.json()["bulk_connections"]["response"]["comment"]
    assert "discounts[0].amount: must be a decimal number, not '4'" in comment
    assert "discounts[0].line_item_level: must be true or false, not 'true'" in comment
    assert "warehouses: must hold at least one warehouse" in comment
    assert "customer_phone: must be a string, not int" in comment

    body = to_xml([connection("T")]).replace(b"<line_item_level>True", b"<line_item_level>true").replace(
        b"<customer_alias>Alias</customer_alias>", b"<customer_alias>A</customer_alias><customer_alias>B</customer_alias>")
    reply = joor.http.post(joor.api, data=body, headers=joor.headers("application/xml"), timeout=5)
    comment = etree.fromstring(reply.content).findtext("response/comment")
    assert "line_item_level: must be True or False, not 'true'" in comment
    assert "customer_alias: appears 2 times; the table allows one" in comment


def test_fields_outside_the_table_are_ignored_and_listed(joor: Joor) -> None:
    record = connection("E", customer_email="seed-example@jb.example")
    record["shipping"]["shipping_addresses"][0]["shipping_email"] = "door@jb.example"
    job_id = job_id_of(joor.post([record]))
    job = next(j for j in joor.admin("jobs")["jobs"] if j["bulk_connections_job_id"] == job_id)
    assert job["ignored_fields"] == ["customer_email", "shipping.shipping_addresses.shipping_email"]
    stored = joor.stored()["E"]
    assert "customer_email" not in stored and "shipping_email" not in stored["shipping"]["shipping_addresses"][0]


def test_an_external_entity_in_an_upload_is_not_resolved(joor: Joor, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = to_xml([connection("XXE")]).replace(b"<customer_alias>Alias</customer_alias>",
                                               b"<customer_alias>&ext;</customer_alias>")
    body = body.replace(b"?>", f'?>\n<!DOCTYPE bulk_connections [<!ENTITY ext SYSTEM "file://{secret}">]>'.encode(), 1)
    headers = joor.headers("application/xml") | {"Accept": "application/json"}
    job_id_of(joor.http.post(joor.api, data=body, headers=headers, timeout=5))
    stored = joor.stored()["XXE"]
    assert stored["customer_alias"] == "&ext;"  # kept as the literal reference, never expanded
    assert "TOP-SECRET" not in json.dumps(stored)


def test_credits_run_out_with_429_and_retry_after_until_the_window_ends(joor: Joor, clock: FakeClock) -> None:
    clock.now = 1_800_000_000.0  # a window boundary for a 300 s window
    joor.admin("config", {"credits_per_window": 12})
    job_id = job_id_of(joor.post([connection()]))  # 5
    job_id_of(joor.post([connection()]))  # 10
    assert joor.get(job_id).status_code == 200  # 11
    assert joor.get(job_id).status_code == 200  # 12
    clock.advance(100)
    refused = joor.get(job_id)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "200"
    assert refused.json()["bulk_connections"]["response"]["code"] != 0
    clock.advance(200)
    assert joor.get(job_id).status_code == 200
    assert joor.admin("stats")["rate_limited"] == 1


def test_a_failed_job_stores_nothing_and_says_why_with_a_log_id(joor: Joor) -> None:
    joor.admin("config", {"fail_next_jobs": 1})
    failed = job_id_of(joor.post([connection("F")]))
    job = joor.job(failed)
    assert job["status"] == "finished"
    assert job["response"]["code"] != 0 and "failed" in job["response"]["comment"] and job["response"]["log_id"]
    assert joor.stored() == {}
    assert joor.job(job_id_of(joor.post([connection("F")])))["response"] == {"code": 0}
    assert set(joor.stored()) == {"F"}


def test_per_record_results_extension_and_reject_rules(joor: Joor) -> None:
    joor.admin("faults", {"reject": [{"customer_code": "BAD", "comment": "unknown price type"}]})
    job_id = job_id_of(joor.post([connection("GOOD"), connection("BAD")]))
    results = joor.job(job_id)["sandbox_connection_results"]
    assert results == [{"customer_code": "GOOD", "status": "accepted", "comment": ""},
                       {"customer_code": "BAD", "status": "rejected", "comment": "unknown price type"}]
    assert set(joor.stored()) == {"GOOD"}
    joor.admin("config", {"per_record_results": False})
    assert "sandbox_connection_results" not in joor.job(job_id)


def test_hold_started_keeps_a_job_started_until_released(joor: Joor, clock: FakeClock) -> None:
    joor.admin("config", {"hold_started": True})
    job_id = job_id_of(joor.post([connection("H")]))
    clock.advance(3600)
    assert joor.job(job_id)["status"] == "started"
    joor.admin("config", {"hold_started": False})
    assert joor.job(job_id)["status"] == "finished"
    assert set(joor.stored()) == {"H"}


def test_transport_faults_are_injected_before_anything_is_processed(joor: Joor) -> None:
    joor.admin("faults", {"sequence": ["503", "429"]})
    assert joor.post([connection()]).status_code == 503
    assert joor.post([connection()]).status_code == 429
    assert joor.admin("stats")["jobs_created"] == 0
    job_id_of(joor.post([connection()]))


def test_an_xml_reply_can_carry_an_external_entity_for_client_tests(joor: Joor) -> None:
    joor.admin("config", {"xml_reply_entity": "file:///nonexistent"})
    reply = joor.post([connection()], media="application/xml")
    assert b"<!ENTITY ext SYSTEM" in reply.content and b"&ext;" in reply.content


def test_connections_and_jobs_survive_a_restart(tmp_path, clock: FakeClock) -> None:
    with start_sandboxes(state_dir=tmp_path, joor_clock=clock, joor_hold_started=True) as running:
        joor = Joor(running.base_url)
        done = job_id_of(joor.post([connection("KEPT")]))
        joor.admin("config", {"hold_started": False})
        assert joor.job(done)["status"] == "finished"
        joor.admin("config", {"hold_started": True})
        open_job = job_id_of(joor.post([connection("LATER")]))
    with start_sandboxes(state_dir=tmp_path, joor_clock=clock) as running:
        joor = Joor(running.base_url)
        assert set(joor.stored()) == {"KEPT", "LATER"}  # the open job went on after the restart
        assert joor.job(open_job)["status"] == "finished"
