"""The seed-000 partner GET API sandbox as an importer sees it."""

from __future__ import annotations

import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes

ORGANIZATION = {"organization_number": "CUST-1001", "organization_name": "Example Jewelers", "status": "active", "sales_incentive": True}
LOCATION = {
    "organization_number": "CUST-1001",
    "location_id": "CUST-1001-NYC",
    "location_name": "Example Jewelers Manhattan",
    "address1": "123 Main St",
    "city": "New York",
    "country": "US",
}
USER = {"organization_number": "CUST-1001", "user_id": "USR-9001", "username": "jsmith", "name": "Jane Smith", "email": "jane@example.com", "active": True}


class PartnerClient:
    def __init__(self, base_url: str, token: str | None = None):
        self.base = f"{base_url}/partner"
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, entity: str, timeout: float = 5, **params: str) -> requests.Response:
        return self.http.get(f"{self.base}/{entity}", params=params, timeout=timeout)

    def admin(self, path: str, payload: dict) -> requests.Response:
        return self.http.post(f"{self.base}/_admin/{path}", json=payload, timeout=5)


@pytest.fixture
def partner(sandboxes) -> PartnerClient:
    return PartnerClient(sandboxes.base_url)


def test_full_refresh_returns_flat_arrays_with_the_seed_field_names(partner):
    upserted = partner.admin("records", {"organizations": [ORGANIZATION], "locations": [LOCATION], "users": [USER]})
    assert upserted.json() == {"upserted": {"organizations": 1, "locations": 1, "users": 1}}

    for entity, sent in (("organizations", ORGANIZATION), ("locations", LOCATION), ("users", USER)):
        response = partner.get(entity)
        assert response.status_code == 200
        records = response.json()
        assert isinstance(records, list) and len(records) == 1
        assert {k: v for k, v in records[0].items() if k != "updated_at"} == sent
        assert records[0]["updated_at"].endswith("Z"), "stamped in UTC when the vendor did not send one"


def test_incremental_pull_returns_only_records_updated_strictly_after(partner):
    organizations = [
        {**ORGANIZATION, "organization_number": "A", "updated_at": "2024-01-01T00:00:00Z"},
        {**ORGANIZATION, "organization_number": "B", "updated_at": "2024-01-02T00:00:00Z"},
        {**ORGANIZATION, "organization_number": "C", "updated_at": "2024-01-03T00:00:00+00:00"},
    ]
    partner.admin("records", {"organizations": organizations})

    def numbers(**params: str) -> list[str]:
        return [record["organization_number"] for record in partner.get("organizations", **params).json()]

    assert numbers() == ["A", "B", "C"]
    assert numbers(updated_since="2024-01-02T00:00:00Z") == ["C"]
    assert numbers(updated_since="2024-01-01T12:00:00+00:00") == ["B", "C"]
    assert numbers(updated_since="2024-01-03T00:00:00Z") == []


def test_records_stamped_later_show_up_in_the_next_incremental_pull(partner):
    partner.admin("records", {"users": [USER]})
    cursor = partner.get("users").json()[-1]["updated_at"]

    partner.admin("records", {"users": [{**USER, "name": "Jane Doe"}]})

    changed = partner.get("users", updated_since=cursor).json()
    assert [(user["user_id"], user["name"]) for user in changed] == [("USR-9001", "Jane Doe")]
    assert changed[0]["updated_at"] > cursor


def test_upserts_by_key_never_duplicate(partner):
    partner.admin("records", {"locations": [LOCATION, {**LOCATION, "location_id": "CUST-1001-LA"}]})
    partner.admin("records", {"locations": [{**LOCATION, "city": "Brooklyn"}]})
    partner.admin("records", {"users": [{**USER, "user_id": ""}, {**USER, "user_id": "", "name": "J. Smith"}]})

    cities = {location["location_id"]: location["city"] for location in partner.get("locations").json()}
    assert cities == {"CUST-1001-NYC": "Brooklyn", "CUST-1001-LA": "New York"}
    users = partner.get("users").json()
    assert [(user["username"], user["name"]) for user in users] == [("jsmith", "J. Smith")], "keyed on username without a user_id"


def test_records_without_their_key_are_refused_and_nothing_is_stored(partner):
    response = partner.admin("records", {"organizations": [ORGANIZATION], "locations": [{"organization_number": "CUST-1001"}]})

    assert response.status_code == 400
    assert "locations[0]" in response.json()["error"]
    assert partner.get("organizations").json() == []


def test_bad_updated_since_is_a_client_error(partner):
    assert partner.get("organizations", updated_since="yesterday").status_code == 400


def test_bearer_token_is_required_when_configured():
    with start_sandboxes(partner_token="s3cret-token") as running:
        anonymous = PartnerClient(running.base_url)
        wrong = PartnerClient(running.base_url, token="guess")
        right = PartnerClient(running.base_url, token="s3cret-token")
        anonymous.admin("records", {"organizations": [ORGANIZATION]})

        refused = anonymous.get("organizations")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "s3cret-token" not in refused.text
        assert wrong.get("organizations").status_code == 401
        assert right.get("organizations").json()[0]["organization_number"] == "CUST-1001"


def test_faults_apply_to_the_get_endpoints(partner):
    partner.admin("records", {"organizations": [ORGANIZATION]})

    partner.admin("faults", {"sequence": ["429", "503", "drop", "ok"], "retry_after_seconds": 3})
    limited = partner.get("organizations")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert partner.get("organizations").status_code == 503
    with pytest.raises(requests.ConnectionError):
        partner.get("organizations")
    assert partner.get("organizations").status_code == 200

    partner.admin("faults", {"timeout": 1.0, "timeout_seconds": 0.5, "apply_to": ["users"]})
    with pytest.raises(requests.Timeout):
        partner.get("users", timeout=0.2)
    assert partner.get("organizations").status_code == 200

    stats = partner.http.get(f"{partner.base}/_admin/stats").json()
    assert stats["faults_injected"] == {"timeout": 1}
    assert [request["status"] for request in stats["requests"]] == [200, 200]


def test_records_survive_a_restart_on_the_same_state_dir(tmp_path):
    with start_sandboxes(state_dir=tmp_path) as first:
        PartnerClient(first.base_url).admin("records", {"organizations": [ORGANIZATION], "users": [USER]})
        before = PartnerClient(first.base_url).get("users").json()

    with start_sandboxes(state_dir=tmp_path) as second:
        client = PartnerClient(second.base_url)
        assert client.get("users").json() == before
        client.admin("records", {"users": [{**USER, "name": "Jane Doe"}]})
        assert client.get("users").json()[0]["updated_at"] > before[0]["updated_at"]


def test_reset_empties_every_endpoint(partner):
    partner.admin("records", {"organizations": [ORGANIZATION], "locations": [LOCATION], "users": [USER]})

    assert partner.admin("reset", {}).json() == {"status": "reset"}

    assert [partner.get(entity).json() for entity in ("organizations", "locations", "users")] == [[], [], []]
