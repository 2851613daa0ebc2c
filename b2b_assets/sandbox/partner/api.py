"""Emulator of the seed-000 vendor GET API: organizations, locations and users.

    GET /partner/organizations | /partner/locations | /partner/users [?updated_since=ISO-8601]

Each returns a flat JSON array with the seed's field names (organizations:
organization_number, organization_name, status, sales_incentive, sales_rep_email, website,
data, updated_at; locations: organization_number, location_id, location_name, address1,
address2, city, state, postal_code, country, phone, status, updated_at; users:
organization_number, user_id, username, name, email, phone, active, role, updated_at).
Without `updated_since` it is a full refresh; with it, only records whose `updated_at` is
strictly later. Records are ordered by `updated_at`, then key, so a client can move its
cursor forward. When the sandbox has a token, every GET needs
`Authorization: Bearer <token>` or gets 401.

The sandbox serves what it was given, valid or not (a missing name, a bad e-mail): the
importer's validation and quarantine are what is under test. Only the upsert key is
required: organizations by `organization_number`, locations by `organization_number` +
`location_id`, users by `user_id` (or `username` when there is no user_id), as the seed's
update rules say.

Admin routes (under `/partner/_admin`):

    POST reset                  drop all records and stats
    POST records                {"organizations": [...], "locations": [...], "users": [...]}
                                upsert by key (a record replaces the stored one); records
                                without `updated_at` are stamped with the current UTC time
    POST faults / GET faults    transport faults, as `faults` describes
    GET  stats                  the GET requests served: endpoint, updated_since, status, count
"""

from __future__ import annotations

import copy
import hmac
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from b2b_assets.sandbox.faults import FaultInjector
from b2b_assets.sandbox.state_store import StateStore
from b2b_assets.sandbox.wire import (
    AdminRequestError,
    Request,
    Response,
    error_response,
    json_response,
    read_json_object,
)

PREFIX = "/partner/"
ADMIN_PREFIX = "/partner/_admin/"


@dataclass(frozen=True)
class Entity:
    """One endpoint and its upsert key.

    Each key part lists field names of which the first non-empty one is used, which is
    how users key on `user_id` or, lacking one, `username`.
    """

    name: str
    key_parts: tuple[tuple[str, ...], ...]

    def key(self, record: Mapping[str, Any]) -> tuple[str, ...] | None:
        """The upsert key as `field=value` parts, or None if the record lacks it."""
        parts = []
        for alternatives in self.key_parts:
            chosen = next((name for name in alternatives if record.get(name) not in (None, "")), None)
            if chosen is None:
                return None
            parts.append(f"{chosen}={record[chosen]}")
        return tuple(parts)

    def describe_key(self) -> str:
        return " + ".join(" or ".join(alternatives) for alternatives in self.key_parts)


ENTITIES: Mapping[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity("organizations", (("organization_number",),)),
        Entity("locations", (("organization_number",), ("location_id",))),
        Entity("users", (("user_id", "username"),)),
    )
}


class PartnerApiSandbox:
    """The emulator's state and request handling, independent of the HTTP server."""

    def __init__(
        self,
        *,
        token: str | None = None,
        state_dir: Path | str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self._token = token
        self._clock = clock
        self._lock = threading.Lock()
        self._faults = FaultInjector(ENTITIES, default_apply_to=ENTITIES)
        self._store = StateStore(Path(state_dir) / "partner.sqlite3" if state_dir is not None else None)
        self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES}
        for name, rows in self._store.load_collections().items():
            self._records[name] = dict(rows)
        last_stamp = self._store.load_value("last_stamp")
        self._last_stamp = _parse_time(last_stamp) if last_stamp else None
        self._requests: list[dict[str, Any]] = []

    # Python API for tests and tools in the same process -------------------------------

    def upsert(self, entity_name: str, records: list[Mapping[str, Any]]) -> int:
        return self.upsert_many({entity_name: records})[entity_name]

    def upsert_many(self, payload: Mapping[str, Any]) -> dict[str, int]:
        """Upsert records of several entities at once; all are checked before any is stored."""
        prepared = _check_upload(payload)
        with self._lock:
            rows = []
            for entity, keyed in prepared.items():
                for key, record in keyed:
                    if record.get("updated_at"):
                        self._note_stamp(_parse_time(record["updated_at"]))
                    else:
                        record["updated_at"] = self._stamp()
                    self._records[entity.name][key] = record
                    rows.append((entity.name, key, record))
            stamp = self._last_stamp.isoformat() if self._last_stamp else None
            self._store.write(rows, {"last_stamp": stamp})
        return {entity.name: len(keyed) for entity, keyed in prepared.items()}

    def records(self, entity_name: str, updated_since: datetime | None = None) -> list[dict[str, Any]]:
        entity = ENTITIES[entity_name]
        with self._lock:
            rows = [
                (_parse_time(record["updated_at"]), key, record)
                for key, record in self._records[entity.name].items()
                if updated_since is None or _parse_time(record["updated_at"]) > updated_since
            ]
            rows.sort(key=lambda row: (row[0], row[1]))
            return [copy.deepcopy(record) for _, _, record in rows]

    def set_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return self._faults.configure(settings)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": copy.deepcopy(self._requests), "faults_injected": self._faults.injected()}

    def reset(self) -> None:
        with self._lock:
            self._store.clear()
            self._records = {name: {} for name in ENTITIES}
            self._last_stamp = None
            self._requests.clear()
        self._faults.configure({})

    def close(self) -> None:
        self._store.close()

    # HTTP ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            if request.path.startswith(ADMIN_PREFIX):
                return self._handle_admin(request, request.path[len(ADMIN_PREFIX):])
        except AdminRequestError as exc:
            return error_response(400, str(exc))
        entity = ENTITIES.get(request.path.removeprefix(PREFIX))
        if entity is None or request.method != "GET":
            return error_response(404, "no such partner API endpoint")
        return self._serve_entity(request, entity)

    def redact_path(self, path: str) -> str:
        return path

    def _serve_entity(self, request: Request, entity: Entity) -> Response:
        fault = self._faults.intercept(entity.name)
        if fault is not None:
            return fault
        since_text = request.query_value("updated_since")
        response, count = self._entity_reply(request, entity, since_text)
        with self._lock:
            self._requests.append({"endpoint": entity.name, "updated_since": since_text, "status": response.status, "records": count})
        return response

    def _entity_reply(self, request: Request, entity: Entity, since_text: str | None) -> tuple[Response, int | None]:
        if self._token is not None and not _bearer_matches(request.header("authorization"), self._token):
            unauthorized = error_response(401, "a valid bearer token is required")
            return Response(401, unauthorized.body, headers=(("WWW-Authenticate", "Bearer"),)), None
        since = None
        if since_text is not None:
            try:
                since = _parse_time(since_text)
            except ValueError:
                return error_response(400, "updated_since must be an ISO-8601 timestamp"), None
        records = self.records(entity.name, since)
        return json_response(records), len(records)

    def _handle_admin(self, request: Request, rest: str) -> Response:
        route = (request.method, rest)
        if route == ("POST", "reset"):
            self.reset()
            return json_response({"status": "reset"})
        if route == ("POST", "records"):
            return json_response({"upserted": self.upsert_many(read_json_object(request))})
        if route == ("POST", "faults"):
            return json_response(self.set_faults(read_json_object(request)))
        if route == ("GET", "faults"):
            return json_response(self._faults.config_json())
        if route == ("GET", "stats"):
            return json_response(self.stats())
        return error_response(404, "no such partner admin endpoint")

    def _stamp(self) -> str:
        """Now in UTC, but strictly later than any stamp served so far, so a client's
        `updated_since` cursor never skips a change."""
        now = self._clock()
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = now
        return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _note_stamp(self, moment: datetime) -> None:
        if self._last_stamp is None or moment > self._last_stamp:
            self._last_stamp = moment


def _check_upload(payload: Mapping[str, Any]) -> dict[Entity, list[tuple[str, dict[str, Any]]]]:
    unknown = set(payload) - set(ENTITIES)
    if unknown:
        raise AdminRequestError(f"unknown entities: {', '.join(sorted(unknown))}")
    prepared = {}
    for name, records in payload.items():
        entity = ENTITIES[name]
        if not isinstance(records, list):
            raise AdminRequestError(f"{name} must be a list of records")
        keyed = []
        for index, record in enumerate(records):
            key = entity.key(record) if isinstance(record, dict) else None
            if key is None:
                raise AdminRequestError(f"{name}[{index}] lacks its key ({entity.describe_key()})")
            if record.get("updated_at"):
                try:
                    _parse_time(record["updated_at"])
                except (TypeError, ValueError):
                    raise AdminRequestError(f"{name}[{index}].updated_at is not an ISO-8601 timestamp") from None
            keyed.append((json.dumps(key), dict(record)))
        prepared[entity] = keyed
    return prepared


def _parse_time(text: str) -> datetime:
    """ISO-8601 to an aware UTC datetime; a timestamp without offset is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
