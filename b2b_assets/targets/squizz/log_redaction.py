"""Keeping SQUIZZ session ids out of the HTTP library's log lines.

A session id is a bearer credential, and the platform puts it in the URL path
(`import_esd/{session_id}`, `validate_session/...`, `destroy_session/...`). urllib3 logs
URLs: at DEBUG for every request, and at WARNING when it retries a broken connection.
The filter masks the id in those records before any handler sees them.
"""

from __future__ import annotations

import logging
import re

SESSION_IN_PATH = re.compile(r"(/(?:import_esd|validate_session|destroy_session)/)[^/?\s\"']+")
HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def mask_session_ids(text: str) -> str:
    return SESSION_IN_PATH.sub(r"\1***", text)


class SessionIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_session_ids(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_FILTER = SessionIdFilter()


def install() -> None:
    """Attach the filter to urllib3's loggers (once, however many clients are made)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
