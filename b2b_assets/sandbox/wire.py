"""The values a sandbox exchanges with the HTTP server.

Sandboxes are plain objects with `handle(Request) -> Response`; only `serve` knows about
sockets. A `Response` can also ask the server to misbehave on purpose (answer late, or
close the connection without answering) so fault injection stays inside the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class Request:
    """One HTTP request, already read off the socket.

    `headers` has lower-cased names; `query` maps each parameter to its values.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Response:
    """What the server writes back.

    `delay_seconds` makes the server wait before answering (an injected timeout);
    `drop_connection` makes it close the socket without writing anything;
    `cut_mid_body` makes it announce the whole body but close after half of it.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay_seconds: float = 0.0
    drop_connection: bool = False
    cut_mid_body: bool = False


def json_response(payload: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status=status, body=json.dumps(payload).encode(), headers=headers)


def text_response(status: int, headers: tuple[tuple[str, str], ...] = (), delay_seconds: float = 0.0) -> Response:
    """A bare status page, the way proxies and gateways answer: not JSON, on purpose."""
    phrase = HTTPStatus(status).phrase
    return Response(
        status=status,
        body=f"{status} {phrase}\n".encode(),
        content_type="text/plain; charset=utf-8",
        headers=headers,
        delay_seconds=delay_seconds,
    )


def error_response(status: int, message: str) -> Response:
    """Errors of the sandboxes' own admin and read-back endpoints."""
    return json_response({"error": message}, status=status)


class AdminRequestError(ValueError):
    """An admin call the sandbox cannot act on; answered with HTTP 400 and the message."""


def read_json_object(request: Request) -> dict[str, Any]:
    """The JSON object body of an admin call; an empty body counts as `{}`."""
    if not request.body.strip():
        return {}
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise AdminRequestError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise AdminRequestError("body must be a JSON object")
    return payload
