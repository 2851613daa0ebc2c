"""Alerts about failed runs: a log line always, and a JSON POST to `B2B_ALERT_WEBHOOK_URL` when it is set.

The webhook URL is treated as a secret (chat webhooks carry their token in the
URL): it is never logged, and neither is an exception text that could quote it.
A webhook that is down or refuses the alert is logged and otherwise ignored,
so alerting can never break the sensor that raises it.
"""

from __future__ import annotations

import logging
import os

import requests

WEBHOOK_VARIABLE = "B2B_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 5.0


def post_alert(body: dict, log: logging.Logger | logging.LoggerAdapter) -> bool:
    """POST `body` as JSON to the webhook, if one is configured; True when it answered 2xx."""
    url = os.environ.get(WEBHOOK_VARIABLE, "").strip()
    if not url:
        return False
    try:
        response = requests.post(url, json=body, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        log.warning(f"alert webhook ({WEBHOOK_VARIABLE}) not reached: {type(exc).__name__}")
        return False
    if not response.ok:
        log.warning(f"alert webhook ({WEBHOOK_VARIABLE}) answered HTTP {response.status_code}")
        return False
    return True
