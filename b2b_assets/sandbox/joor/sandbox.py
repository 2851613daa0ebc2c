"""JOOR Bulk Connection API emulator: OAuth2 token, JSON/XML jobs, credit rate limit, admin read-back.

API routes (the vendor's, under `/joor`):

    POST /joor/v2/bulk-connection        body: {"bulk_connections": {"connection": [...]}} or the XML
    GET  /joor/v2/bulk-connection/{id}

Every API request needs `Authorization: OAuth2 <token>` (the literal word OAuth2, as
VENDOR_API_NOTES says), `Accept` (and for POST `Content-Type`) of application/json or
application/xml; the reply comes in the `Accept` encoding, wrapped:
`{"bulk_connections": {"response": {"code": 0}, "bulk_connections_jobs": [job]}}`. A non-zero
code is an error and carries `comment` and `log_id`.

Checks, in order: injected transport fault -> token (401, code 2) -> media types (406/415,
code 1) -> credits (429 with Retry-After, code 3) -> route (404, code 4) -> the body against
the seed's table (400, code 1, every problem named in `comment`; no job is created). A POST
that passes becomes a job, `queued`.

Jobs run one at a time in the order received: `queued` for `queued_seconds` (counted from
when the job before it finished), then `started` for `seconds_per_record` x its connections,
with `connection_record_progress` moving, then `finished`. `hold_started` keeps a started job
there until it is switched off (a JOOR that is slow for hours). Only a finished job changes
the stored connections: each is upserted by customer_code and replaces what was stored for
it (nothing public says whether JOOR merges fields; replacing lets a cleared field clear).

Assumptions where nothing public says (see README, JOOR section):
- A job can fail (`fail_next_jobs`): it ends `finished`, stores nothing, and its GET reply
  carries code 5 with the failure's comment and log_id.
- Per-record outcomes are a sandbox extension, off with `per_record_results: false`: a
  finished job lists `sandbox_connection_results`, one `{customer_code, status:
  accepted|rejected, comment}` per connection. Connections matching a `reject` fault rule are
  rejected there and not stored. JOOR itself reports per-record results by e-mail only.
- Credits: `credits_per_window` (300) per fixed window of `window_seconds` (300) per token,
  a GET costs `get_cost` (1), a POST `post_cost` (5); a refused request (401, 429) costs none.

Admin routes (the sandbox's own, under `/joor/_admin`, JSON in and out, no credits):

    POST reset                 drop connections, jobs, stats; restore start-up settings
    POST config / GET config   the settings above, and `xml_reply_entity` (a URL: XML replies then
                               declare it as an external entity and reference it, for client tests)
    POST faults / GET faults   transport faults (see `faults`) and `reject`: [{customer_code, comment}]
    GET  connections           the stored connections, as posted (normalised), by customer_code
    GET  jobs                  every job with its state, counts, customer codes, ignored fields, results
    GET  stats                 requests served (method, route, status, credits) and totals

Connections and jobs survive a restart when `state_dir` is given; credit windows do not.
The token is never echoed or logged.
"""

from __future__ import annotations

import copy
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from b2b_assets.sandbox.faults import FaultInjector
from b2b_assets.sandbox.joor.documents import JSON, MEDIA_TYPES, XML, BadDocument, media_type, read_request, reply_body
from b2b_assets.sandbox.state_store import StateStore
from b2b_assets.sandbox.wire import AdminRequestError, Request, Response, error_response, json_response, read_json_object

API_PREFIX = "/joor/v2/bulk-connection"
ADMIN_PREFIX = "/joor/_admin/"
FAULT_ROUTES = ("post_bulk_connection", "get_bulk_connection")
MAX_PROBLEMS_IN_COMMENT = 20


class Code:
    """The sandbox's non-zero response codes (JOOR documents only that non-zero is an error)."""

    INVALID_REQUEST = 1
    UNAUTHORIZED = 2
    RATE_LIMITED = 3
    NOT_FOUND = 4
    JOB_FAILED = 5


@dataclass
class JoorSettings:
    queued_seconds: float = 0.0
    seconds_per_record: float = 0.0
    hold_started: bool = False
    credits_per_window: int = 300
    window_seconds: float = 300.0
    get_cost: int = 1
    post_cost: int = 5
    per_record_results: bool = True
    fail_next_jobs: int = 0
    xml_reply_entity: str | None = None

    def changed(self, changes: Mapping[str, Any]) -> "JoorSettings":
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise AdminRequestError(f"unknown settings: {', '.join(sorted(unknown))}")
        updated = replace(self, **changes)
        for name in ("queued_seconds", "seconds_per_record"):
            if not _is_number(getattr(updated, name)) or getattr(updated, name) < 0:
                raise AdminRequestError(f"{name} must be a number >= 0")
        if not _is_number(updated.window_seconds) or updated.window_seconds <= 0:
            raise AdminRequestError("window_seconds must be a positive number")
        for name in ("credits_per_window", "get_cost", "post_cost", "fail_next_jobs"):
            value = getattr(updated, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AdminRequestError(f"{name} must be a whole number >= 0")
        for name in ("hold_started", "per_record_results"):
            if not isinstance(getattr(updated, name), bool):
                raise AdminRequestError(f"{name} must be true or false")
        if updated.xml_reply_entity is not None and not isinstance(updated.xml_reply_entity, str):
            raise AdminRequestError("xml_reply_entity must be a URL or null")
        return updated


class JoorSandbox:
    """The emulator's state and request handling, independent of the HTTP server."""

    def __init__(self, *, token: str = "sandbox-token", state_dir: Path | str | None = None,
                 clock: Callable[[], float] = time.time, **settings: Any):
        self._token = token
        self._clock = clock
        self._initial_settings = JoorSettings().changed(settings)
        self._settings = self._initial_settings.changed({})
        self._lock = threading.RLock()
        self._faults = FaultInjector(FAULT_ROUTES, default_apply_to=FAULT_ROUTES)
        self._reject: dict[str, str] = {}
        self._store = StateStore(Path(state_dir) / "joor.sqlite3" if state_dir is not None else None)
        self._connections: dict[str, dict[str, Any]] = dict(self._store.load_collections().get("connections", []))
        self._jobs: dict[int, dict[str, Any]] = {
            int(key): job for key, job in self._store.load_collections().get("jobs", [])}
        self._credits_used: dict[tuple[str, int], int] = {}
        self._requests: list[dict[str, Any]] = []

    # Python API for tests and tools in the same process -------------------------------

    def connections(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._advance()
            return copy.deepcopy(self._connections)

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [_public_job(job, with_results=True) | {name: job[name] for name in (
                        "ignored_fields", "media_type", "customer_codes")}
                    for _, job in sorted(self._jobs.items())]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": copy.deepcopy(self._requests),
                "credits_spent": sum(r["credits"] for r in self._requests),
                "rate_limited": sum(1 for r in self._requests if r["status"] == 429),
                "jobs_created": len(self._jobs),
                "faults_injected": self._faults.injected(),
            }

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            self._advance()  # jobs move under the settings they ran with, up to now
            self._settings = self._settings.changed(changes)
            return asdict(self._settings)

    def set_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        rules = settings.pop("reject", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) and isinstance(r.get("customer_code"), str)
                                                  for r in rules):
            raise AdminRequestError("reject must be a list of {customer_code, comment} rules")
        config = self._faults.configure(settings)
        with self._lock:
            self._reject = {r["customer_code"]: str(r.get("comment", "rejected by a sandbox rule")) for r in rules}
        return {**config, "reject": self._reject_json()}

    def reset(self) -> None:
        with self._lock:
            self._store.clear()
            self._connections, self._jobs = {}, {}
            self._credits_used.clear()
            self._requests.clear()
            self._settings = self._initial_settings.changed({})
        self.set_faults({})

    def close(self) -> None:
        self._store.close()

    # HTTP ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            if request.path.startswith(ADMIN_PREFIX):
                return self._handle_admin(request, request.path[len(ADMIN_PREFIX):])
        except AdminRequestError as exc:
            return error_response(400, str(exc))
        rest = request.path.removeprefix(API_PREFIX)
        if rest == request.path or (rest and not rest.startswith("/")):
            return error_response(404, "no such JOOR sandbox endpoint")
        route = "post_bulk_connection" if request.method == "POST" else "get_bulk_connection"
        fault = self._faults.intercept(route)
        if fault is not None:
            return fault
        response, credits = self._api(request, rest.strip("/"))
        with self._lock:
            self._requests.append({"method": request.method, "route": route, "status": response.status,
                                   "credits": credits})
        return response

    def redact_path(self, path: str) -> str:
        return path

    def _api(self, request: Request, job_text: str) -> tuple[Response, int]:
        accept = media_type(request.header("accept"))
        reply_media = accept if accept in MEDIA_TYPES else JSON
        token = self._given_token(request.header("authorization"))
        if token is None:
            return self._error(401, Code.UNAUTHORIZED, "Authorization must be 'OAuth2 <token>' with a valid token",
                               reply_media, (("WWW-Authenticate", "OAuth2"),)), 0
        if accept not in MEDIA_TYPES:
            return self._error(406, Code.INVALID_REQUEST, "Accept must be application/json or application/xml",
                               reply_media), 0
        method = request.method
        if method == "POST" and media_type(request.header("content-type")) not in MEDIA_TYPES:
            return self._error(415, Code.INVALID_REQUEST, "Content-Type must be application/json or application/xml",
                               reply_media), 0
        with self._lock:
            cost = self._settings.post_cost if method == "POST" else self._settings.get_cost
            wait = self._spend(token, cost)
        if wait is not None:
            return self._error(429, Code.RATE_LIMITED, "rate limit exceeded: too many credits used in this window",
                               reply_media, (("Retry-After", str(wait)),)), 0
        if method == "POST" and not job_text:
            return self._create_job(request, reply_media), cost
        if method == "GET" and job_text:
            return self._read_job(job_text, reply_media), cost
        return self._error(404, Code.NOT_FOUND, f"{method} {request.path} is not an endpoint", reply_media), cost

    def _given_token(self, header: str) -> str | None:
        scheme, _, given = header.partition(" ")
        if scheme != "OAuth2" or not hmac.compare_digest(given.strip().encode(), self._token.encode()):
            return None
        return self._token

    def _spend(self, token: str, cost: int) -> int | None:
        """Charge `cost` credits in the current fixed window; the whole seconds to wait if it does not fit."""
        settings, now = self._settings, self._clock()
        window = math.floor(now / settings.window_seconds)
        used = self._credits_used.get((token, window), 0)
        if used + cost > settings.credits_per_window:
            return max(1, math.ceil((window + 1) * settings.window_seconds - now))
        self._credits_used = {k: v for k, v in self._credits_used.items() if k[1] == window}
        self._credits_used[(token, window)] = used + cost
        return None

    def _create_job(self, request: Request, reply_media: str) -> Response:
        try:
            read = read_request(request.header("content-type"), request.body)
        except BadDocument as exc:
            return self._error(400, Code.INVALID_REQUEST, str(exc), reply_media)
        if read.problems:
            shown = "; ".join(p.text() for p in read.problems[:MAX_PROBLEMS_IN_COMMENT])
            more = len(read.problems) - MAX_PROBLEMS_IN_COMMENT
            comment = f"{len(read.problems)} problems, no job created: {shown}" + (f"; and {more} more" if more > 0 else "")
            return self._error(400, Code.INVALID_REQUEST, comment, reply_media)
        with self._lock:
            self._advance()
            job_id = max(self._jobs, default=0) + 1
            now = self._clock()
            job = {
                "bulk_connections_job_id": job_id, "status": "queued", "created": _iso(now), "modified": _iso(now),
                "connection_record_count": len(read.connections), "connection_record_progress": 0,
                "created_at": now, "started_at": None, "finished_at": None, "failure": None, "results": None,
                "ignored_fields": sorted(read.ignored_fields), "media_type": media_type(request.header("content-type")),
                "customer_codes": [c.get("customer_code") for c in read.connections],
                "connections": read.connections,
            }
            self._jobs[job_id] = job
            self._advance()
            self._store.write([("jobs", str(job_id), job)])
            return self._reply({"response": {"code": 0}, "bulk_connections_jobs": [_public_job(job)]}, reply_media)

    def _read_job(self, job_text: str, reply_media: str) -> Response:
        with self._lock:
            self._advance()
            job = self._jobs.get(int(job_text)) if job_text.isdigit() else None
            if job is None:
                return self._error(404, Code.NOT_FOUND, f"no bulk connections job {job_text}", reply_media)
            response: dict[str, Any] = {"code": 0}
            if job["failure"] and job["status"] == "finished":
                response = {"code": Code.JOB_FAILED, **job["failure"]}
            with_results = self._settings.per_record_results
            return self._reply({"response": response, "bulk_connections_jobs": [_public_job(job, with_results)]},
                               reply_media)

    def _advance(self) -> None:
        """Move jobs along to where the clock says they are, one at a time in order (lock held)."""
        settings, now = self._settings, self._clock()
        previous_finished = -math.inf
        changed = []
        for job_id in sorted(self._jobs):
            job = self._jobs[job_id]
            if job["status"] == "finished":
                previous_finished = job["finished_at"]
                continue
            before = (job["status"], job["connection_record_progress"])
            if job["status"] == "queued":
                start = max(job["created_at"] + settings.queued_seconds, previous_finished)
                if now < start:
                    break
                job.update(status="started", started_at=start, modified=_iso(start))
                if settings.fail_next_jobs:
                    settings.fail_next_jobs -= 1
                    job["failure"] = {"comment": f"bulk connections job {job_id} failed while processing; "
                                                 "no connection was saved",
                                      "log_id": secrets.token_hex(8)}
            count = job["connection_record_count"]
            per_record = settings.seconds_per_record
            finish = job["started_at"] + count * per_record
            if settings.hold_started or now < finish:
                done = count if per_record == 0 else int((now - job["started_at"]) / per_record)
                job["connection_record_progress"] = min(count - 1, max(0, done))
                if (job["status"], job["connection_record_progress"]) != before:
                    changed.append(job)
                break
            self._finish(job, finish)
            changed.append(job)
            previous_finished = finish
        if changed:
            self._store.write([("jobs", str(j["bulk_connections_job_id"]), j) for j in changed]
                              + self._touched_connections(changed))

    def _finish(self, job: dict[str, Any], finished_at: float) -> None:
        results = []
        for connection in job["connections"]:
            code = connection.get("customer_code")
            if job["failure"]:
                results.append({"customer_code": code, "status": "rejected", "comment": job["failure"]["comment"]})
            elif code in self._reject:
                results.append({"customer_code": code, "status": "rejected", "comment": self._reject[code]})
            else:
                self._connections[code] = connection
                results.append({"customer_code": code, "status": "accepted", "comment": ""})
        job.update(status="finished", finished_at=finished_at, modified=_iso(finished_at), results=results,
                   connection_record_progress=job["connection_record_count"])
        job["stored_codes"] = [r["customer_code"] for r in results if r["status"] == "accepted"]
        job["connections"] = []  # applied: the stored connections are the record now

    def _touched_connections(self, jobs: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
        codes = {code for job in jobs for code in job.get("stored_codes", [])}
        return [("connections", code, self._connections[code]) for code in codes if code in self._connections]

    def _reply(self, reply: Mapping[str, Any], media: str, status: int = 200,
               headers: tuple[tuple[str, str], ...] = ()) -> Response:
        body = reply_body(reply, media)
        if media == XML and self._settings.xml_reply_entity:
            body = _with_external_entity(body, self._settings.xml_reply_entity)
        return Response(status=status, body=body, content_type=media, headers=headers)

    def _error(self, status: int, code: int, comment: str, media: str,
               headers: tuple[tuple[str, str], ...] = ()) -> Response:
        log_id = secrets.token_hex(8)
        return self._reply({"response": {"code": code, "comment": comment, "log_id": log_id}}, media, status, headers)

    # Admin ---------------------------------------------------------------------------

    def _handle_admin(self, request: Request, rest: str) -> Response:
        route = (request.method, rest)
        if route == ("POST", "reset"):
            self.reset()
            return json_response({"status": "reset"})
        if route == ("POST", "config"):
            return json_response(self.configure(**read_json_object(request)))
        if route == ("GET", "config"):
            with self._lock:
                return json_response(asdict(self._settings))
        if route == ("POST", "faults"):
            return json_response(self.set_faults(read_json_object(request)))
        if route == ("GET", "faults"):
            return json_response({**self._faults.config_json(), "reject": self._reject_json()})
        if route == ("GET", "connections"):
            return json_response({"connections": list(self.connections().values())})
        if route == ("GET", "jobs"):
            return json_response({"jobs": self.jobs()})
        if route == ("GET", "stats"):
            return json_response(self.stats())
        return error_response(404, "no such JOOR admin endpoint")

    def _reject_json(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"customer_code": code, "comment": comment} for code, comment in self._reject.items()]


def _public_job(job: Mapping[str, Any], with_results: bool = False) -> dict[str, Any]:
    """The job as the API shows it; results only through the documented extension."""
    public = {name: job[name] for name in ("bulk_connections_job_id", "status", "created", "modified",
                                           "connection_record_count", "connection_record_progress")}
    if with_results and job["status"] == "finished":
        public["sandbox_connection_results"] = copy.deepcopy(job["results"])
    return public


def _with_external_entity(body: bytes, url: str) -> bytes:
    """Declare `url` as an external entity and reference it in a `note` element, as a hostile reply would."""
    declaration = f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE bulk_connections [<!ENTITY ext SYSTEM "{url}">]>'
    rest = body.split(b"?>", 1)[1].replace(b"<response>", b"<response><note>&ext;</note>", 1)
    return declaration.encode() + rest


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
