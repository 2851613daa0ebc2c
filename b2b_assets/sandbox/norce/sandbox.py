"""Norce Commerce Connect emulator: OAuth2 tokens, customer and company imports as jobs, admin read-back.

API routes (the vendor's, under `/norce`):

    POST identity/1.0/connect/token                      form: grant_type=client_credentials, client_id,
                                                         client_secret (or HTTP Basic) -> access_token, expires_in
    POST commerce/connect/4.0/Customer/ImportCompanies   header X-StormConnect-Header, body Company[]
    POST commerce/connect/4.0/Customer/ImportCustomers   header X-StormConnect-Header, body Customer[]
    GET  commerce/connect/4.0/Job/Get?id=N               StatusId, Status, IsFinished, counts
    GET  commerce/connect/4.0/Job/GetLog?id=N            [{JobId, Severity, Message, Created}]

Tokens live `token_ttl_seconds` (3,600 by default) and do not survive a restart;
the token endpoint answers at most `token_requests_per_window` requests per
`token_window_seconds` (3 a minute, as the notes say) and then 429 with
Retry-After. Every Connect call needs `Authorization: Bearer <token>` or gets 401.

An import is checked at once (header, Content-Type, body syntax: HTTP 400 or
415 when wrong, no job) and answered with a `JobResponse` (`StatusCode`,
`Description`, `JobId`, `ValidationSummary`). The job then moves through
Initialized (1), Queued (6) and Validating (5), each lasting
`job_phase_seconds` (and Queued for as long as `jobs_paused` is on), and ends
Succeeded (2), ValidationFailed (4: some records failed, the others were
imported) or Failed (3: nothing was imported). Only a finished job changes the
stored data. Each failed record gets a severity-3 log row
"<Type> '<Code>': <problem>"; a failed job gets one severity-3 row that names
no record. `data` has the import rules (matching, FieldsThatAreSet, list-delta).

Admin routes (the sandbox's own, under `/norce/_admin`, JSON in and out):

    POST reset                     drop all data, jobs, tokens and stats; restore start-up settings
    POST config / GET config       token_ttl_seconds, token_requests_per_window, token_window_seconds,
                                   job_phase_seconds, jobs_paused, fail_next_jobs, account_roles
    POST faults / GET faults       transport faults (see `faults`) plus `reject`:
                                   [{"code": "...", "message": "...", "operation": "ImportCustomers"}]
    POST revoke_tokens             every issued token answers 401 from now on
    GET  companies | customers     stored records, relations and accounts included (no password hashes)
    GET  jobs | stats                 stats: token requests, imports (job, operation, records, header),
                                   requests by route and status, submissions per record

The client secret and the tokens are never echoed, logged or stored in state.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from b2b_assets.sandbox.faults import FaultInjector
from b2b_assets.sandbox.norce.data import NorceData, Outcome, record_label
from b2b_assets.sandbox.norce.payload import BadRequest, ImportHeader, check_record, parse_body, parse_header
from b2b_assets.sandbox.norce.schema import JOB_STATUS, SEVERITY_ERROR, SEVERITY_INFO
from b2b_assets.sandbox.state_store import StateStore
from b2b_assets.sandbox.wire import AdminRequestError, Request, Response, error_response, json_response, read_json_object

TOKEN_PATH = "/norce/identity/1.0/connect/token"
CONNECT_PREFIX = "/norce/commerce/connect/4.0/"
ADMIN_PREFIX = "/norce/_admin/"
IMPORTS = {"Customer/ImportCompanies": "Company", "Customer/ImportCustomers": "Customer"}
FAULT_ROUTES = ("token", "ImportCompanies", "ImportCustomers", "Job/Get", "Job/GetLog")
DEFAULT_APPLICATION_KEY = "6b0f5cf2-3f0e-4a53-9d4e-2f1b8f0c0a11"
SUCCEEDED, FAILED, VALIDATION_FAILED = 2, 3, 4
_CONTENT_TYPES = {"JSON": ("application/json",), "XML": ("application/xml", "text/xml")}


@dataclass
class NorceSettings:
    """Behaviour switches, set at construction and changed at runtime via admin `config`."""

    token_ttl_seconds: float = 3600.0
    token_requests_per_window: int = 3
    token_window_seconds: float = 60.0
    job_phase_seconds: float = 0.0
    jobs_paused: bool = False
    fail_next_jobs: int = 0
    account_roles: list[str] = field(default_factory=lambda: ["Administrator", "User"])

    def changed(self, changes: Mapping[str, Any]) -> NorceSettings:
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise AdminRequestError(f"unknown settings: {', '.join(sorted(unknown))}")
        updated = replace(self, **changes)
        for name in ("token_ttl_seconds", "token_window_seconds", "job_phase_seconds"):
            value = getattr(updated, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise AdminRequestError(f"{name} must be a number >= 0")
        for name in ("token_requests_per_window", "fail_next_jobs"):
            value = getattr(updated, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AdminRequestError(f"{name} must be a whole number >= 0")
        if not isinstance(updated.jobs_paused, bool):
            raise AdminRequestError("jobs_paused must be true or false")
        if not isinstance(updated.account_roles, list) or not all(isinstance(r, str) for r in updated.account_roles):
            raise AdminRequestError("account_roles must be a list of role codes")
        updated.account_roles = list(updated.account_roles)
        return updated


@dataclass(frozen=True)
class RejectRule:
    """Fail the record with this Code (in one operation, or any) with `message`: a vendor-side refusal."""

    code: str
    message: str = "rejected by the sandbox's reject rule"
    operation: str | None = None

    @classmethod
    def parse(cls, payload: Any) -> tuple[RejectRule, ...]:
        if not isinstance(payload, list):
            raise AdminRequestError("reject must be a list of rules")
        rules = []
        for rule in payload:
            if not isinstance(rule, dict) or not isinstance(rule.get("code"), str) or set(rule) - {"code", "message", "operation"}:
                raise AdminRequestError('each reject rule is {"code": ..., "message"?: ..., "operation"?: ...}')
            if rule.get("operation") not in (None, "ImportCompanies", "ImportCustomers"):
                raise AdminRequestError("a reject rule's operation is ImportCompanies or ImportCustomers")
            rules.append(cls(**rule))
        return tuple(rules)


class NorceSandbox:
    """The emulator's state and request handling, independent of the HTTP server."""

    def __init__(
        self,
        *,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        application_key: str = DEFAULT_APPLICATION_KEY,
        account_id: int = 1,
        state_dir: Path | str | None = None,
        clock: Callable[[], float] = time.time,
        **settings: Any,
    ):
        self._client_id = client_id
        self._client_secret = client_secret
        self._application_key = application_key
        self._account_id = int(account_id)
        self._clock = clock
        self._initial_settings = NorceSettings().changed(settings)
        self._settings = self._initial_settings.changed({})
        self._lock = threading.RLock()
        self._faults = FaultInjector(FAULT_ROUTES, default_apply_to=("ImportCompanies", "ImportCustomers"))
        self._reject_rules: tuple[RejectRule, ...] = ()
        self._tokens: dict[str, float] = {}  # token -> expiry
        self._token_requests: list[float] = []
        self._stats: dict[str, Any] = _empty_stats()
        self._store = StateStore(Path(state_dir) / "norce.sqlite3" if state_dir is not None else None)
        self._data, self._jobs = self._load()

    # Python API for tests and tools in the same process -------------------------------

    def companies(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance_jobs()
            return self._data.read_companies()

    def customers(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance_jobs()
            return self._data.read_customers()

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance_jobs()
            return [self._job_summary(job) for job in self._jobs.values()]

    def password_matches(self, login_name: str, password: str) -> bool:
        with self._lock:
            return self._data.password_matches(login_name, password)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**copy.deepcopy(self._stats), "faults_injected": self._faults.injected()}

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            self._settings = self._settings.changed(changes)
            return asdict(self._settings)

    def set_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        settings = dict(settings)
        rules = RejectRule.parse(settings.pop("reject", []))
        config = self._faults.configure(settings)
        with self._lock:
            self._reject_rules = rules
        return {**config, "reject": [asdict(rule) for rule in rules]}

    def revoke_tokens(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count

    def reset(self) -> None:
        with self._lock:
            self._store.clear()
            self._data, self._jobs = NorceData(), {}
            self._tokens.clear()
            self._token_requests.clear()
            self._stats = _empty_stats()
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
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._count(request, "token", self._faults.intercept("token") or self._issue_token(request))
        operation = request.path.removeprefix(CONNECT_PREFIX)
        if request.path.startswith(CONNECT_PREFIX) and (
                (request.method == "POST" and operation in IMPORTS) or
                (request.method == "GET" and operation in ("Job/Get", "Job/GetLog"))):
            route = operation.removeprefix("Customer/")
            response = self._faults.intercept(route) or self._authorized(request) or self._connect(request, operation)
            return self._count(request, route, response)
        return _message(404, "no such Norce Connect endpoint")

    def redact_path(self, path: str) -> str:
        return path  # nothing secret travels in a Norce path

    def _count(self, request: Request, route: str, response: Response) -> Response:
        with self._lock:
            self._stats["requests"][f"{route} {response.status}"] += 1
        return response

    def _issue_token(self, request: Request) -> Response:
        with self._lock:
            now = self._clock()
            settings = self._settings
            self._token_requests = [t for t in self._token_requests if now - t < settings.token_window_seconds]
            if len(self._token_requests) >= settings.token_requests_per_window:
                wait = self._token_requests[0] + settings.token_window_seconds - now
                return json_response({"error": "too_many_requests"}, status=429,
                                     headers=(("Retry-After", str(max(1, math.ceil(wait)))),))
            self._token_requests.append(now)
            self._stats["token_requests"] += 1
        form = {name: values[0] for name, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        client_id, client_secret = _basic_credentials(request.header("authorization")) or (
            form.get("client_id", ""), form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if not (_same(client_id, self._client_id) & _same(client_secret, self._client_secret)):
            return json_response({"error": "invalid_client"}, status=400)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self._clock() + self._settings.token_ttl_seconds
            self._stats["tokens_issued"] += 1
            ttl = self._settings.token_ttl_seconds
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)})

    def _authorized(self, request: Request) -> Response | None:
        """None if the bearer token is live, else the 401 to answer."""
        scheme, _, token = request.header("authorization").partition(" ")
        with self._lock:
            expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if expiry is not None and expiry > self._clock():
                return None
            self._tokens.pop(token.strip(), None)
        return Response(401, b'{"Message": "Authorization has been denied for this request."}',
                        headers=(("WWW-Authenticate", 'Bearer error="invalid_token"'),))

    def _connect(self, request: Request, operation: str) -> Response:
        if operation in IMPORTS:
            return self._submit(request, operation)
        job_id = request.query_value("id")
        with self._lock:
            self._advance_jobs()
            job = self._jobs.get(job_id or "")
            if job is None:
                return _message(404, f"no job has id {job_id!r}")
            if operation == "Job/Get":
                return json_response(self._job_summary(job))
            return json_response([{"JobId": int(job["id"]), "Severity": severity, "Message": message, "Created": created}
                                  for severity, message, created in job["log"]])

    def _submit(self, request: Request, operation: str) -> Response:
        item_type = IMPORTS[operation]
        short = operation.removeprefix("Customer/")
        try:
            header = parse_header(request.header("x-stormconnect-header"), short)
            if header.account_id != self._account_id:
                return _message(403, f"AccountId {header.account_id} may not import here")
            content_type = request.header("content-type").split(";")[0].strip().lower()
            if content_type not in _CONTENT_TYPES[header.serialization]:
                return _message(415, f"SerializationType {header.serialization} needs Content-Type "
                                     f"{' or '.join(_CONTENT_TYPES[header.serialization])}, not {content_type or 'none'}")
            records = parse_body(request.body, header.serialization, item_type)
        except BadRequest as exc:
            return _message(400, str(exc))
        checked = [check_record(item_type, record, xml=header.serialization == "XML") for record in records]
        problems = [[*found, *self._application_problems(record)] for record, found in checked]
        with self._lock:
            job_id = str(self._stats["next_job_id"])
            self._stats["next_job_id"] += 1
            fail = self._settings.fail_next_jobs > 0
            if fail:
                self._settings.fail_next_jobs -= 1
            now = self._clock()
            job = {
                "id": job_id, "operation": short, "header": _header_json(header), "records": [r for r, _ in checked],
                "problems": problems, "created": now, "fail": fail, "status": 1, "processed": False,
                "log": [(SEVERITY_INFO, f"Job {job_id} received: {len(records)} {item_type} items", _iso(now))],
                "counts": {"inserted": 0, "updated": 0, "failed": 0}, "cleared": {},
            }
            self._jobs[job_id] = job
            self._stats["imports"].append({"job_id": int(job_id), "operation": short, "records": len(records),
                                           **_header_json(header)})
            self._stats["submissions"].update(f"{short}/{record['Code']}" for record, _ in checked if record.get("Code"))
            self._store.write([("jobs", job_id, job)], {"stats": self._persisted_stats()})
        failures = sum(1 for found in problems if found)
        return json_response({
            "StatusCode": "Ok", "Description": f"Job {job_id} created", "JobId": int(job_id),
            "ValidationSummary": {"NrOfItemsInTotal": len(records), "NrOfValidationFailures": failures,
                                  "Messages": [_row_message(item_type, r, p) for (r, _), p in zip(checked, problems) if p][:100]},
        })

    def _application_problems(self, record: Mapping[str, Any]) -> list[str]:
        keys = [record.get("ApplicationKey"), *(a.get("ApplicationKey") for a in record.get("Accounts") or [])]
        foreign = sorted({key for key in keys if key and key != self._application_key})
        return [f"ApplicationKey {key} is not an application of this Norce Commerce instance" for key in foreign]

    # Jobs ----------------------------------------------------------------------------

    def _advance_jobs(self) -> None:
        """Move every open job along the clock; a job reaching its end is applied (lock held)."""
        now = self._clock()
        phase = self._settings.job_phase_seconds
        for job in self._jobs.values():
            if job["processed"]:
                continue
            elapsed = now - job["created"]
            if elapsed < phase:
                job["status"] = 1
            elif elapsed < 2 * phase or self._settings.jobs_paused:
                job["status"] = 6
            elif elapsed < 3 * phase:
                job["status"] = 5
            else:
                self._finish(job)

    def _finish(self, job: dict[str, Any]) -> None:
        now = _iso(self._clock())
        item_type = "Company" if job["operation"] == "ImportCompanies" else "Customer"
        job["processed"] = True
        if job["fail"]:
            job["status"] = FAILED
            job["log"].append((SEVERITY_ERROR, "The import failed: an internal error stopped the job; nothing was imported", now))
            job["counts"]["failed"] = len(job["records"])
            self._store.write([("jobs", job["id"], job)])
            return
        outcome = Outcome()
        valid = []
        for record, problems in zip(job["records"], job["problems"]):
            rule = next((r for r in self._reject_rules if r.code == record.get("Code")
                         and r.operation in (None, job["operation"])), None)
            problems = problems + [rule.message] if rule else problems
            if problems:
                outcome.failed += 1
                outcome.rows.append((SEVERITY_ERROR, _row_message(item_type, record, problems)))
            else:
                valid.append(record)
        header = _header_from_json(job["header"])
        if item_type == "Company":
            self._data.import_companies(valid, header, outcome)
        else:
            self._data.import_customers(valid, header, outcome, frozenset(self._settings.account_roles))
        job["status"] = VALIDATION_FAILED if outcome.failed else SUCCEEDED
        job["log"] += [(severity, message, now) for severity, message in outcome.rows]
        job["log"].append((SEVERITY_INFO, f"Job {job['id']} finished: {outcome.inserted} inserted, "
                                          f"{outcome.updated} updated, {outcome.failed} failed", now))
        job["counts"] = {"inserted": outcome.inserted, "updated": outcome.updated, "failed": outcome.failed}
        job["cleared"] = outcome.cleared
        job["records"] = []  # applied: the payload is no longer needed (it may hold passwords)
        data = self._data
        rows = [("jobs", job["id"], job)]
        rows += [("companies", key, data.companies[key]) for key in outcome.touched["companies"]]
        rows += [("customers", key, data.customers[key]) for key in outcome.touched["customers"]]
        rows += [("relations", key, data.relations[key]) for key in outcome.touched["relations"]]
        self._store.write(rows, {"next_id": data.next_id})

    def _job_summary(self, job: dict[str, Any]) -> dict[str, Any]:
        counts = job["counts"]
        return {
            "Id": int(job["id"]), "StatusId": job["status"], "Status": JOB_STATUS[job["status"]],
            "IsFinished": job["processed"], "Created": _iso(job["created"]), "Operation": job["operation"],
            "NrOfItemsInTotal": len(job["problems"]), "NrOfInserts": counts["inserted"],
            "NrOfUpdates": counts["updated"], "NrOfFailures": counts["failed"], "FieldsCleared": job["cleared"],
        }

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
            with self._lock:
                return json_response({**self._faults.config_json(), "reject": [asdict(r) for r in self._reject_rules]})
        if route == ("POST", "revoke_tokens"):
            return json_response({"revoked": self.revoke_tokens()})
        readers = {"companies": self.companies, "customers": self.customers, "jobs": self.jobs, "stats": self.stats}
        if request.method == "GET" and rest in readers:
            return json_response(readers[rest]())
        return error_response(404, "no such Norce admin endpoint")

    def _persisted_stats(self) -> dict[str, Any]:
        return {"next_job_id": self._stats["next_job_id"]}

    def _load(self) -> tuple[NorceData, dict[str, dict[str, Any]]]:
        collections = self._store.load_collections()
        data = NorceData(
            companies=dict(collections.get("companies", [])),
            customers=dict(collections.get("customers", [])),
            relations=dict(collections.get("relations", [])),
            next_id=self._store.load_value("next_id", 1),
        )
        jobs = {key: {**job, "log": [tuple(row) for row in job["log"]]} for key, job in collections.get("jobs", [])}
        self._stats["next_job_id"] = self._store.load_value("stats", {"next_job_id": 1})["next_job_id"]
        return data, jobs


def _header_json(header: ImportHeader) -> dict[str, Any]:
    return {
        "AccountId": header.account_id,
        "CompanyFieldsThatAreSet": sorted(header.company_fields),
        "CustomerFieldsThatAreSet": sorted(header.customer_fields),
        "AccountFieldsThatAreSet": sorted(header.account_fields),
        "SerializationType": header.serialization,
        "SearchOnlyByCode": header.search_only_by_code,
        "IsCustomerListDelta": header.is_customer_list_delta,
        "IsCompanyListDelta": header.is_company_list_delta,
    }


def _header_from_json(stored: Mapping[str, Any]) -> ImportHeader:
    return ImportHeader(
        stored["AccountId"], frozenset(stored["CompanyFieldsThatAreSet"]), frozenset(stored["CustomerFieldsThatAreSet"]),
        frozenset(stored["AccountFieldsThatAreSet"]), stored["SerializationType"], stored["SearchOnlyByCode"],
        stored["IsCustomerListDelta"], stored["IsCompanyListDelta"])


def _row_message(item_type: str, record: Mapping[str, Any], problems: list[str]) -> str:
    return f"{item_type} '{record_label(record)}': {'; '.join(problems)}"


def _empty_stats() -> dict[str, Any]:
    # submissions: how many jobs each record (operation/Code) was sent in, to see a record sent twice.
    return {"next_job_id": 1, "token_requests": 0, "tokens_issued": 0, "imports": [], "requests": Counter(),
            "submissions": Counter()}


def _message(status: int, message: str) -> Response:
    return json_response({"Message": message}, status=status)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
