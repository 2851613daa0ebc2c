"""The shared server: routing, start-up options and the `b2b-sandbox` command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from b2b_assets.sandbox.serve import start_sandboxes

from .clients import SquizzClient, esd

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def test_health_and_unknown_paths(sandboxes):
    assert requests.get(f"{sandboxes.base_url}/health", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{sandboxes.base_url}/no-such-vendor/v2/anything", timeout=5).status_code == 404
    assert requests.get(f"{sandboxes.base_url}/squizz/nothing-here", timeout=5).status_code == 404


def test_unknown_api_action_is_a_vendor_failure(squizz):
    reply = squizz.http.get(f"{squizz.api}/import_esd/abc").json()

    assert (reply["result"], reply["result_code"]) == ("FAILURE", "SERVER_ERROR_INVALID_API_ACTION")


def test_options_reach_their_sandbox_by_prefix():
    with start_sandboxes(squizz_org_id="acme", squizz_api_password="pw") as running:
        client = SquizzClient(running.base_url)
        assert client.create_session(org_id="acme", password="pw")["result"] == "SUCCESS"
    with pytest.raises(TypeError, match="unknown sandbox option"):
        start_sandboxes(nobody_token="x")


def test_command_serves_until_sigterm_and_logs_requests_without_secrets(tmp_path):
    env = {**os.environ, "SQUIZZ_SANDBOX_API_PASSWORD": "cli-Secret-pw", "PARTNER_SANDBOX_TOKEN": "cli-token-77"}
    command = [sys.executable, "-m", "b2b_assets.sandbox.serve", "--port", "0", "--state-dir", str(tmp_path / "state")]
    process = subprocess.Popen(command, cwd=REPOSITORY_ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stderr.readline()
        base_url = re.search(r"serving sandboxes on (http://\S+)", first_line).group(1)
        client = SquizzClient(base_url)
        session = client.create_session(password="cli-Secret-pw")
        assert session["result"] == "SUCCESS"
        reply = client.import_esd(1, esd([{"keyTaxcodeID": "GST"}], "keyTaxcodeID"), session_id=session["session_id"])
        assert reply["resultStatus"] == 1
        partner = requests.get(f"{base_url}/partner/users", headers={"Authorization": "Bearer cli-token-77"}, timeout=5)
        assert partner.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=10)

    assert process.returncode == 0
    assert "POST /squizz/rest/1/org/create_session 200" in log
    assert "POST /squizz/rest/1/org/import_esd/*** 200" in log
    assert "GET /partner/users 200" in log
    for secret in ("cli-Secret-pw", "cli-token-77", session["session_id"]):
        assert secret not in first_line + log
    assert (tmp_path / "state" / "squizz.sqlite3").exists()
