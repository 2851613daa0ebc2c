"""The SQUIZZ client over real HTTP against the SQUIZZ sandbox on loopback."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.core.http import RetryPolicy
from b2b_assets.targets.squizz.client import SquizzClient, squizz_retry
from b2b_assets.targets.squizz.errors import (
    SquizzDocumentRejected,
    SquizzError,
    SquizzFatalError,
    SquizzRetryableError,
)
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, import_type
from b2b_assets.targets.squizz.mapping import to_payload

from .canonical_data import canonical_frames

ORG, KEY, PASSWORD = "sandbox-org", "sandbox-key", "sandbox-password"
TAXCODE = {"keyTaxcodeID": "GST", "taxcode": "GST", "taxcodePercentageRate": 10.0}
TAXCODE_FIELDS = ("keyTaxcodeID", "taxcode", "taxcodePercentageRate")


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandboxes(state_dir=None, port=0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(sandbox):
    admin("POST", sandbox, "reset")
    yield


def admin(method: str, sandbox, path: str, payload: dict | None = None) -> dict:
    response = requests.request(method, f"{sandbox.base_url}/squizz/_admin/{path}", json=payload, timeout=5)
    response.raise_for_status()
    return response.json()


def fast_retry(budget_seconds: float = 20) -> RetryPolicy:
    """The client's own retry rules with test-sized waits."""
    return squizz_retry(budget_seconds=budget_seconds, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.01)


def make_client(sandbox, password: str = PASSWORD, **kwargs) -> SquizzClient:
    kwargs.setdefault("retry", fast_retry())
    kwargs.setdefault("busy_backoff", 0.01)
    kwargs.setdefault("timeout", 5)
    return SquizzClient(f"{sandbox.base_url}/squizz", ORG, KEY, password, **kwargs)


def stored_records(sandbox, type_id: int) -> list[dict]:
    return admin("GET", sandbox, f"records/{type_id}")["records"]


def stored(sandbox, type_id: int, key: str = "keyTaxcodeID") -> dict[str, dict]:
    return {str(r.get(key)): r for r in stored_records(sandbox, type_id)}


def test_session_is_created_once_reused_and_destroyed(sandbox):
    with make_client(sandbox) as client:
        assert not client.has_session
        client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
        client.import_esd(1, [{**TAXCODE, "keyTaxcodeID": "VAT"}], TAXCODE_FIELDS)
        assert client.has_session and client.validate_session()
        assert sandbox.squizz.stats()["imports_by_type"] == {"1": 2}
        assert len(sandbox.squizz._sessions) == 1  # two imports, one session
    assert not client.has_session
    assert len(sandbox.squizz._sessions) == 0  # leaving the `with` destroyed it at the platform


def test_an_invalidated_session_is_recreated_and_the_import_resent(sandbox):
    client = make_client(sandbox)
    client.create_session()
    assert admin("POST", sandbox, "invalidate_sessions")
    result = client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    assert result.code == "SERVER_SUCCESS"
    assert set(stored(sandbox, 1)) == {"GST"}
    client.close()


def test_a_gzip_document_lands_in_the_sandbox(sandbox):
    with make_client(sandbox) as client:
        result = client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    assert (result.type_id, result.records, result.code) == (1, 1, "SERVER_SUCCESS")
    record = stored(sandbox, 1)["GST"]
    assert record["taxcode"] == "GST" and float(record["taxcodePercentageRate"]) == 10.0


@pytest.mark.parametrize("shape", ["flat", "esd"])
def test_both_reply_shapes_are_understood(sandbox, shape):
    admin("POST", sandbox, "config", {"reply_shape": shape})
    with make_client(sandbox) as client:
        assert client.import_esd(1, [TAXCODE], TAXCODE_FIELDS).reply_shape == shape
        with pytest.raises(SquizzDocumentRejected) as caught:
            client.import_esd(1, [{"taxcode": "no key"}], TAXCODE_FIELDS)
    assert caught.value.code == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"


@pytest.mark.parametrize("setting, code", [("busy_next", "SERVER_ERROR_DATA_IMPORT_BUSY"),
                                           ("max_imports_running_next", "SERVER_ERROR_DATA_IMPORT_MAX_IMPORTS_RUNNING")])
def test_a_busy_platform_is_retried_until_it_accepts(sandbox, setting, code):
    admin("POST", sandbox, "config", {setting: 2})
    with make_client(sandbox, busy_retries=3) as client:
        assert client.import_esd(1, [TAXCODE], TAXCODE_FIELDS).code == "SERVER_SUCCESS"
    assert set(stored(sandbox, 1)) == {"GST"}

    admin("POST", sandbox, "config", {setting: 5})
    with make_client(sandbox, busy_retries=2) as client, pytest.raises(SquizzRetryableError) as caught:
        client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    assert caught.value.code == code


def test_a_rejected_document_names_the_vendor_code_and_message(sandbox):
    bad_price = {"keyProductID": "P1", "keyPriceLevelID": "PL1", "keySellUnitID": "EA", "price": 0}
    with make_client(sandbox) as client, pytest.raises(SquizzDocumentRejected) as caught:
        client.import_esd(4, [bad_price], ("keyProductID", "keyPriceLevelID", "keySellUnitID", "price"))
    assert caught.value.code == "SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL"
    assert "price" in caught.value.vendor_message
    assert caught.value.vendor_message in str(caught.value)


def test_wrong_credentials_are_fatal_name_the_variables_and_never_show_the_password(sandbox, caplog):
    wrong = "not-the-password-7f3a9c"
    caplog.set_level(logging.DEBUG)  # urllib3 and requests log at DEBUG: they must not see it either
    client = make_client(sandbox, password=wrong)
    with pytest.raises(SquizzFatalError) as caught:
        client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    error = caught.value
    assert error.code == "SERVER_ERROR_INCORRECT_API_CREDENTIALS"
    assert "SQUIZZ_ORG_ID, SQUIZZ_API_KEY and SQUIZZ_API_PASSWORD" in str(error)
    for text in (str(error), repr(error), error.vendor_message, repr(client), str(client)):
        assert wrong not in text and KEY not in text
    assert all(wrong not in record.getMessage() for record in caplog.records)
    client.close()


def test_an_unknown_organisation_is_fatal_and_names_the_org_variable(sandbox):
    client = SquizzClient(f"{sandbox.base_url}/squizz", "someone-else", KEY, PASSWORD,
                          retry=fast_retry(0.3))
    with pytest.raises(SquizzFatalError, match="SQUIZZ_ORG_ID") as caught:
        client.create_session()
    assert caught.value.code == "SERVER_ERROR_ORG_NOT_FOUND"


def test_scripted_transport_faults_are_retried_to_success(sandbox):
    admin("POST", sandbox, "faults", {"sequence": ["429", "503", "drop", "timeout", "500", "ok"],
                                      "retry_after_seconds": 0, "timeout_seconds": 2})
    started = time.monotonic()
    with make_client(sandbox, timeout=0.5) as client:
        assert client.import_esd(1, [TAXCODE], TAXCODE_FIELDS).code == "SERVER_SUCCESS"
    assert time.monotonic() - started < 10
    assert set(stored(sandbox, 1)) == {"GST"}
    injected = sandbox.squizz.stats()["faults_injected"]
    assert sum(injected.values()) == 5, injected


def test_retry_after_is_honoured(sandbox):
    admin("POST", sandbox, "faults", {"sequence": ["429", "ok"], "retry_after_seconds": 1})
    started = time.monotonic()
    with make_client(sandbox) as client:
        client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    assert time.monotonic() - started >= 0.9


def test_random_faults_do_not_lose_a_document(sandbox):
    admin("POST", sandbox, "faults", {"rate_limit": 0.2, "retry_after_seconds": 0, "server_error": 0.15,
                                      "drop": 0.1, "timeout": 0.05, "timeout_seconds": 1, "seed": 7})
    with make_client(sandbox, timeout=0.5, retry=fast_retry()) as client:
        for n in range(15):
            client.import_esd(1, [{**TAXCODE, "keyTaxcodeID": f"T{n}"}], TAXCODE_FIELDS)
    assert set(stored(sandbox, 1)) == {f"T{n}" for n in range(15)}
    assert sum(sandbox.squizz.stats()["faults_injected"].values()) > 0


def test_faults_beyond_the_retry_budget_surface_as_retryable(sandbox):
    admin("POST", sandbox, "faults", {"sequence": ["503"] * 500})
    client = make_client(sandbox, retry=fast_retry(0.3))
    client.create_session()  # sessions are not fault-injected; import_esd is
    with pytest.raises(SquizzRetryableError) as caught:
        client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    assert caught.value.code == "HTTP_503"
    assert client._session_id not in str(caught.value)
    client.close()


def test_every_import_type_maps_and_imports_in_dependency_order(sandbox):
    """The whole mapped fixture, one document per type in IMPORT_TYPES order, accepted by the sandbox."""
    frames = canonical_frames()
    with make_client(sandbox) as client:
        for spec in IMPORT_TYPES:
            payload = to_payload(spec, frames)
            rows = payload.records
            result = client.import_esd(spec.type_id, payload.data_records(rows), spec.data_fields,
                                       child_data_fields=spec.child_data_fields or None,
                                       price_groups=payload.price_groups_for(rows))
            assert result.records == len(rows), spec.name
    counts = sandbox.squizz.stats()["records_by_type"]
    assert {int(k) for k in counts} == {spec.type_id for spec in IMPORT_TYPES}
    products = stored(sandbox, import_type("products").type_id, "keyProductID")
    assert len(products["P1"]["sellUnits"]) == 2
    # What the sandbox received: the envelope the vendor's libraries send, a delta as INCREMENT.
    received = {(i["version"], i["dataTransferMode"], i["result_code"]) for i in sandbox.squizz.stats()["imports"]}
    assert received == {(1.5, "INCREMENT", "SERVER_SUCCESS")}
    # Imported in reference order, so the platform could assign every reference.
    unassigned = {spec.name: [r["unassigned_references"] for r in stored_records(sandbox, spec.type_id)
                              if r.get("unassigned_references")] for spec in IMPORT_TYPES}
    assert not any(unassigned.values()), unassigned


def test_a_reply_echoing_the_session_id_and_password_is_shown_redacted(sandbox, caplog):
    typo = "typed-wrong-5e1f0c"
    caplog.set_level(logging.DEBUG)
    # The dropped connection makes urllib3 log a retry warning naming the URL, session id included.
    admin("POST", sandbox, "faults", {"echo_secrets": True, "reject": [{"import_type_id": 1, "key": "BAD"}],
                                      "sequence": ["drop"]})
    client = make_client(sandbox)
    accepted = client.import_esd(1, [TAXCODE], TAXCODE_FIELDS)
    session_id = client._session_id
    with pytest.raises(SquizzDocumentRejected) as refused:
        client.import_esd(1, [{**TAXCODE, "keyTaxcodeID": "BAD"}], TAXCODE_FIELDS)
    client.close()
    with make_client(sandbox, password=typo) as mistyped, pytest.raises(SquizzFatalError) as refused_login:
        mistyped.create_session()

    assert any("Retrying" in record.getMessage() for record in caplog.records)
    assert "session_id=***, api_org_pw=***" in refused.value.vendor_message  # the echo arrived, masked
    assert "api_org_pw=***" in refused_login.value.vendor_message
    shown = [accepted.message, *(text for error in (refused.value, refused_login.value)
                                 for text in (str(error), repr(error), error.vendor_message))]
    shown += [record.getMessage() for record in caplog.records]
    for text in shown:
        assert session_id not in text and PASSWORD not in text and typo not in text, text


def test_secrets_stay_out_of_the_repr_and_errors_even_when_the_sandbox_is_unreachable():
    client = SquizzClient("http://127.0.0.1:9", ORG, KEY, PASSWORD, timeout=0.5,
                          retry=fast_retry(0.3))
    with pytest.raises(SquizzError) as caught:
        client.create_session()
    assert isinstance(caught.value, SquizzRetryableError) and caught.value.code == "TRANSPORT_ERROR"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    for text in (str(caught.value), repr(client)):
        assert PASSWORD not in text and KEY not in text
