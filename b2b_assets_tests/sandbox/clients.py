"""Minimal HTTP clients that drive the sandboxes the way vendor clients do.

Deliberately thin: they speak the vendor's wire format over real HTTP so the tests assert
what a user of the sandbox would see.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import requests

ORG_ID = "sandbox-org"
API_KEY = "sandbox-key"
API_PASSWORD = "sandbox-password"


def esd(records: list[dict[str, Any]], fields: str, mode: str = "INCREMENT", **header: Any) -> dict[str, Any]:
    """An ESD document; `fields` is the comma-separated configs.dataFields value."""
    return {
        "version": 1.5,
        "resultStatus": 1,
        "message": "",
        "dataTransferMode": mode,
        "totalDataRecords": len(records),
        "configs": {"dataFields": fields},
        "dataRecords": records,
        **header,
    }


def result_code(reply: dict[str, Any]) -> str:
    """The result code of either reply shape (ESD or flat)."""
    return reply["configs"]["result_code"] if "configs" in reply else reply["result_code"]


class SquizzClient:
    """Just enough of a SQUIZZ client to drive the sandbox."""

    def __init__(self, base_url: str):
        self.api = f"{base_url}/squizz/rest/1/org"
        self.admin_url = f"{base_url}/squizz/_admin"
        self.http = requests.Session()
        self._session_id: str | None = None

    def create_session(self, org_id: str = ORG_ID, api_key: str = API_KEY, password: str = API_PASSWORD) -> dict[str, Any]:
        form = {"org_id": org_id, "api_org_key": api_key, "api_org_pw": password, "create_session": "Y"}
        return self.http.post(f"{self.api}/create_session", data=form, timeout=5).json()

    @property
    def session_id(self) -> str:
        if self._session_id is None:
            reply = self.create_session()
            assert reply["result"] == "SUCCESS", reply
            self._session_id = reply["session_id"]
        return self._session_id

    def post_esd(
        self,
        import_type_id: int | str | None,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        session_id: str | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        params = {} if import_type_id is None else {"import_type_id": import_type_id}
        url = f"{self.api}/import_esd/{session_id or self.session_id}"
        return self.http.post(url, params=params, data=body, headers=headers or {}, timeout=timeout)

    def import_esd(self, import_type_id: int, document: dict[str, Any], *, timeout: float = 10, **kwargs: Any) -> dict[str, Any]:
        """Import the way the vendor's libraries do: gzip-compressed JSON."""
        return self.send_esd(import_type_id, document, timeout=timeout, **kwargs).json()

    def send_esd(self, import_type_id: int, document: dict[str, Any], *, timeout: float = 10, **kwargs: Any) -> requests.Response:
        body = gzip.compress(json.dumps(document).encode())
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self.post_esd(import_type_id, body, headers=headers, timeout=timeout, **kwargs)

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.http.post(f"{self.admin_url}/{path}", json=payload or {}, timeout=5)
        reply.raise_for_status()
        return reply.json()

    def records(self, import_type_id: int) -> list[dict[str, Any]]:
        return self.http.get(f"{self.admin_url}/records/{import_type_id}", timeout=5).json()["records"]

    def records_by_key(self, import_type_id: int, key_field: str) -> dict[str, dict[str, Any]]:
        return {record[key_field]: record for record in self.records(import_type_id)}

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.admin_url}/stats", timeout=5).json()
