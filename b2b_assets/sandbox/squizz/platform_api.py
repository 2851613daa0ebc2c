"""SQUIZZ.com Platform API emulator: sessions, import_esd, trading tokens, admin read-back.

API routes (the vendor's, under `/squizz/rest/1/org`):

    POST create_session                       form: org_id, api_org_key, api_org_pw, create_session=Y
    GET  validate_session/{session_id}
    GET  destroy_session/{session_id}
    POST import_esd/{session_id}?import_type_id=N   body: ESD JSON, optionally gzip

create_session takes only a form-encoded body (`application/x-www-form-urlencoded`, as the
vendor's libraries send it) that asks for the action with `create_session=Y`; anything
else is `SERVER_ERROR_INVALID_API_ACTION`, before the credentials are looked at (nothing
public says which code the platform uses here: this is the sandbox's assumption).

Failures come back as HTTP 200 with the failure in the body, as the platform does. Session
replies are flat (`result`, `result_code`, `result_message`, `api_version`, `session_id`,
`session_valid`). Import replies use the ESD shape
`{"resultStatus": 1|0, "message": ..., "configs": {"api_version", "result_code"}}` unless
the sandbox is configured for the flat shape, so clients can be tested against both.

import_esd checks, in order (the first that fails decides the result code):
injected transport fault → session → import type → busy / max imports running (when
configured) → Content-Type → gzip and JSON (duplicate keys are malformed) → ESD header
(`totalDataRecords` must count the records) → records (every field a record carries
against its table, unknown fields refused, and rejection rules) → trading tokens. Only
then is the document applied (see `org_data` for upsert, dataFields, COMPLETE/INCREMENT,
drop and reference rules); a rejected document changes nothing and costs nothing. Every
record of an applied document costs `token_cost` tokens (per type via
`token_cost_by_type`), including records stored without a reference or not stored for a
missing key reference: they were imported.

References follow the seed ("a reference to something not yet imported is not assigned"):
the record is stored, the unknown reference is stored as null (unknown ids are left out of
id lists), and read-back lists it under the record's `unassigned_references`. A record
whose key itself is the unknown reference (a price or stock quantity for a product never
imported, an account price for an unknown account, a location's stock line for an unknown
product) has nothing to be saved against: nothing is stored for it, and the import's
entry in `stats` lists it under `unassigned`. The import still succeeds.

Admin routes (the sandbox's own, under `/squizz/_admin`, JSON in and out):

    POST reset                  drop all records, sessions, stats; restore start-up settings
    POST faults / GET faults    transport faults (see `faults`), `reject` rules, and
                                `echo_secrets`: replies echo the session id and API password
                                in their message, as a careless platform might
    POST config / GET config    reply_shape, token_balance, token_cost, token_cost_by_type,
                                session_ttl_seconds, busy_next, max_imports_running_next
    POST invalidate_sessions
    GET  records/{import_type_id}
    GET  stats                  tokens, counts, and per import what was received (type,
                                `version`, `dataTransferMode`, records) and its result code

Sessions expire `session_ttl_seconds` after their last use and do not survive a restart;
records, price groups and the import ledger do (when `state_dir` is given). The token
balance is a setting, not state: a restarted sandbox starts from its configured balance.
The API credentials are never echoed (not in replies, read-back, stats or logs) unless
the `echo_secrets` fault asks for it, to test that clients redact what a vendor echoes.
"""

from __future__ import annotations

import copy
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from b2b_assets.sandbox.faults import FaultInjector
from b2b_assets.sandbox.squizz.import_types import IMPORT_TYPES
from b2b_assets.sandbox.squizz.org_data import OrgData, key_from_text, key_text
from b2b_assets.sandbox.squizz.result_codes import ResultCode
from b2b_assets.sandbox.squizz.validation import (
    EsdDocument,
    ImportRejected,
    RejectionRule,
    parse_rejection_rules,
    read_document,
    record_problems,
    summarize_problems,
)
from b2b_assets.sandbox.state_store import StateStore
from b2b_assets.sandbox.wire import (
    AdminRequestError,
    Request,
    Response,
    error_response,
    json_response,
    read_json_object,
)

API_VERSION = "1.0.0.0"
API_PREFIX = "/squizz/rest/1/org/"
ADMIN_PREFIX = "/squizz/_admin/"
REPLY_SHAPES = ("esd", "flat")
FAULT_ROUTES = ("import_esd", "create_session")
MAX_UNASSIGNED_IN_STATS = 100
_SESSION_IN_PATH = re.compile(r"^(/squizz/rest/1/org/(?:validate_session|destroy_session|import_esd)/)[^/?]+")


@dataclass
class SquizzSettings:
    """Behaviour switches, set at construction and changed at runtime via admin `config`."""

    reply_shape: str = "esd"
    token_balance: int | None = None
    token_cost: int = 1
    token_cost_by_type: dict[int, int] = field(default_factory=dict)
    session_ttl_seconds: float = 3600.0
    busy_next: int = 0
    max_imports_running_next: int = 0

    def changed(self, changes: Mapping[str, Any]) -> "SquizzSettings":
        """A copy with `changes` applied; raises AdminRequestError for anything invalid."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise AdminRequestError(f"unknown settings: {', '.join(sorted(unknown))}")
        updated = replace(self, **changes)
        if updated.reply_shape not in REPLY_SHAPES:
            raise AdminRequestError(f"reply_shape must be one of {', '.join(REPLY_SHAPES)}")
        for name in ("token_cost", "busy_next", "max_imports_running_next"):
            _require_count(name, getattr(updated, name))
        if updated.token_balance is not None:
            _require_count("token_balance", updated.token_balance)
        if not isinstance(updated.session_ttl_seconds, (int, float)) or updated.session_ttl_seconds <= 0:
            raise AdminRequestError("session_ttl_seconds must be a positive number")
        try:
            updated.token_cost_by_type = {int(type_id): cost for type_id, cost in dict(updated.token_cost_by_type).items()}
        except (TypeError, ValueError):
            raise AdminRequestError("token_cost_by_type must map import type ids to costs") from None
        for cost in updated.token_cost_by_type.values():
            _require_count("token_cost_by_type values", cost)
        return updated

    def cost_per_record(self, import_type_id: int) -> int:
        return self.token_cost_by_type.get(import_type_id, self.token_cost)


class SquizzSandbox:
    """The emulator's state and request handling, independent of the HTTP server."""

    def __init__(
        self,
        *,
        org_id: str = "sandbox-org",
        api_key: str = "sandbox-key",
        api_password: str = "sandbox-password",
        state_dir: Path | str | None = None,
        clock: Callable[[], float] = time.monotonic,
        **settings: Any,
    ):
        self._org_id = org_id
        self._api_key = api_key
        self._api_password = api_password
        self._clock = clock
        self._initial_settings = SquizzSettings().changed(settings)
        self._settings = self._initial_settings.changed({})
        self._lock = threading.RLock()
        self._faults = FaultInjector(FAULT_ROUTES, default_apply_to=("import_esd",))
        self._rejection_rules: tuple[RejectionRule, ...] = ()
        self._echo_secrets = False
        self._sessions: dict[str, float] = {}
        self._store = StateStore(Path(state_dir) / "squizz.sqlite3" if state_dir is not None else None)
        self._data, self._ledger = self._load()

    # Python API for tests and tools in the same process -------------------------------

    def records(self, import_type_id: int) -> list[dict[str, Any]]:
        """Stored records of a type, each with `active` and `unassigned_references`."""
        with self._lock:
            return self._data.read_back(import_type_id)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                **copy.deepcopy(self._ledger),
                "token_balance": self._settings.token_balance,
                "faults_injected": self._faults.injected(),
            }

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            self._settings = self._settings.changed(changes)
            return self._settings_json()

    def set_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Replace transport faults, `reject` rules and `echo_secrets`; unspecified settings reset."""
        settings = dict(settings)
        rules = parse_rejection_rules(settings.pop("reject", []))
        echo_secrets = settings.pop("echo_secrets", False)
        if not isinstance(echo_secrets, bool):
            raise AdminRequestError("echo_secrets must be true or false")
        self._faults.configure(settings)
        with self._lock:
            self._rejection_rules = rules
            self._echo_secrets = echo_secrets
        return self.fault_settings()

    def fault_settings(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self._faults.config_json(),
                "reject": [rule.to_json() for rule in self._rejection_rules],
                "echo_secrets": self._echo_secrets,
            }

    def invalidate_sessions(self) -> int:
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def reset(self) -> None:
        with self._lock:
            self._store.clear()
            self._data, self._ledger = OrgData(), _empty_ledger()
            self._sessions.clear()
            self._settings = self._initial_settings.changed({})
            self.set_faults({})

    def close(self) -> None:
        self._store.close()

    # HTTP ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            if request.path.startswith(ADMIN_PREFIX):
                return self._handle_admin(request, request.path[len(ADMIN_PREFIX):])
            if request.path.startswith(API_PREFIX):
                return self._handle_api(request, request.path[len(API_PREFIX):])
        except AdminRequestError as exc:
            return error_response(400, str(exc))
        return error_response(404, "no such SQUIZZ sandbox endpoint")

    def redact_path(self, path: str) -> str:
        """The path fit for a log line: session ids are bearer credentials."""
        return _SESSION_IN_PATH.sub(r"\1***", path)

    def _handle_api(self, request: Request, rest: str) -> Response:
        action, _, session_id = rest.partition("/")
        handlers = {
            ("POST", "create_session"): self._create_session,
            ("GET", "validate_session"): self._validate_session,
            ("GET", "destroy_session"): self._destroy_session,
            ("POST", "import_esd"): self._import_esd,
        }
        handler = handlers.get((request.method, action))
        if handler is None:
            return _flat_reply(ResultCode.INVALID_API_ACTION, "the API has no such action")
        if action not in FAULT_ROUTES:
            return handler(request, session_id)
        return self._faults.serve(action, lambda: handler(request, session_id))

    def _create_session(self, request: Request, _: str) -> Response:
        form = _form(request)
        given = {name: (form.get(name) or [""])[0] for name in ("org_id", "api_org_key", "api_org_pw")}

        def refuse(code: ResultCode, message: str) -> Response:
            return _flat_reply(code, self._echo(message, "", given["api_org_pw"]), session_id="", session_valid="N")

        if form.get("create_session") != ["Y"]:
            return refuse(ResultCode.INVALID_API_ACTION, "create_session needs a form-encoded body with create_session=Y")
        if not _same(given["org_id"], self._org_id):
            return refuse(ResultCode.ORG_NOT_FOUND, "no organisation has the given org_id")
        if not (_same(given["api_org_key"], self._api_key) & _same(given["api_org_pw"], self._api_password)):
            return refuse(ResultCode.INCORRECT_API_CREDENTIALS, "the API key or password is incorrect")
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = self._clock()
        message = self._echo("", session_id, given["api_org_pw"])
        return _flat_reply(ResultCode.SUCCESS, message, session_id=session_id, session_valid="Y")

    def _validate_session(self, _: Request, session_id: str) -> Response:
        with self._lock:
            valid = self._use_session(session_id)
        return self._session_reply(valid, session_id, session_valid="Y" if valid else "N")

    def _destroy_session(self, _: Request, session_id: str) -> Response:
        with self._lock:
            valid = self._use_session(session_id)
            self._sessions.pop(session_id, None)
        return self._session_reply(valid, session_id, session_valid="N")

    def _session_reply(self, valid: bool, session_id: str, session_valid: str) -> Response:
        code, message = (ResultCode.SUCCESS, "") if valid else (ResultCode.SESSION_INVALID, "the session is invalid or has expired")
        return _flat_reply(code, self._echo(message, session_id), session_id=session_id, session_valid=session_valid)

    def _echo(self, message: str, session_id: str, password: str | None = None) -> str:
        """The reply's message, led by the secrets when the `echo_secrets` fault is on.

        Leading, so that even a display that shortens the message (a sample table) shows them.
        """
        if not self._echo_secrets:
            return message
        password = self._api_password if password is None else password
        echo = f"session_id={session_id}, api_org_pw={password}"
        return f"{echo}: {message}" if message else echo

    def _use_session(self, session_id: str) -> bool:
        """True if the session is live; using it restarts its expiry clock."""
        last_used = self._sessions.get(session_id)
        now = self._clock()
        if last_used is None or now - last_used > self._settings.session_ttl_seconds:
            self._sessions.pop(session_id, None)
            return False
        self._sessions[session_id] = now
        return True

    def _import_esd(self, request: Request, session_id: str) -> Response:
        import_type_id = _as_int(request.query_value("import_type_id"))
        document: EsdDocument | None = None
        try:
            with self._lock:
                if not self._use_session(session_id):
                    raise ImportRejected(ResultCode.SESSION_INVALID, "the session is invalid or has expired")
                import_type = IMPORT_TYPES.get(import_type_id)
                if import_type is None:
                    raise ImportRejected(ResultCode.MISSING_IMPORT_TYPE, "import_type_id is missing or names no import type")
                self._refuse_if_busy()
                rules = self._rejection_rules
            # Decoding and checking a large upload needs no shared state: do it unlocked.
            document = read_document(import_type, request.header("content-type"), request.header("content-encoding"), request.body)
            problems = record_problems(document, rules)
            if problems:
                raise ImportRejected(ResultCode.DOCUMENT_UNSUCCESSFUL, summarize_problems(problems))
            with self._lock:
                self._commit(document)
        except ImportRejected as rejected:
            with self._lock:
                self._note_import(import_type_id, document, rejected.code)
                self._store.write(values={"ledger": self._ledger})
            return self._import_reply(rejected.code, self._echo(rejected.message, session_id))
        return self._import_reply(ResultCode.SUCCESS, self._echo("", session_id))

    def _refuse_if_busy(self) -> None:
        settings = self._settings
        if settings.busy_next:
            settings.busy_next -= 1
            raise ImportRejected(ResultCode.IMPORT_BUSY, "the platform is busy, try the import again later")
        if settings.max_imports_running_next:
            settings.max_imports_running_next -= 1
            raise ImportRejected(ResultCode.MAX_IMPORTS_RUNNING, "the maximum number of imports is running, try again later")

    def _commit(self, document: EsdDocument) -> None:
        """Charge tokens, apply the document and persist what it touched (lock held)."""
        type_id = document.import_type.type_id
        cost = len(document.records) * self._settings.cost_per_record(type_id)
        balance = self._settings.token_balance
        if balance is not None and cost > balance:
            raise ImportRejected(
                ResultCode.INSUFFICIENT_CREDIT, f"the import costs {cost} trading tokens but {balance} are left"
            )
        outcome = self._data.apply(document)
        if balance is not None:
            self._settings.token_balance = balance - cost
        ledger = self._ledger
        ledger["tokens_spent"] += cost
        _add(ledger["tokens_by_type"], type_id, cost)
        _add(ledger["imports_by_type"], type_id, 1)
        _add(ledger["records_by_type"], type_id, len(document.records))
        self._note_import(type_id, document, ResultCode.SUCCESS, tokens=cost, unassigned=outcome.unassigned)
        # A generator: a memory-only store never reads it, so a large import spends nothing on spelling keys.
        rows = (
            (_collection(touched_type), key_text(key), self._data.tables[touched_type][key])
            for touched_type, keys in outcome.touched.items()
            for key in keys
        )
        self._store.write(rows, {"ledger": ledger, "price_groups": self._data.price_groups})

    def _note_import(
        self,
        import_type_id: int | None,
        document: EsdDocument | None,
        code: ResultCode,
        tokens: int = 0,
        unassigned: list[dict[str, Any]] | None = None,
    ) -> None:
        unassigned = unassigned or []
        self._ledger["imports"].append(
            {
                "import_type_id": import_type_id,
                "version": document.version if document else None,
                "dataTransferMode": document.mode if document else None,
                "records": len(document.records) if document else None,
                "result_code": str(code),
                "tokens": tokens,
                "unassigned_count": len(unassigned),
                "unassigned": unassigned[:MAX_UNASSIGNED_IN_STATS],
            }
        )

    def _import_reply(self, code: ResultCode, message: str) -> Response:
        if self._settings.reply_shape == "flat":
            return _flat_reply(code, message)
        return json_response(
            {
                "resultStatus": 1 if code == ResultCode.SUCCESS else 0,
                "message": message,
                "configs": {"api_version": API_VERSION, "result_code": str(code)},
            }
        )

    # Admin ---------------------------------------------------------------------------

    def _handle_admin(self, request: Request, rest: str) -> Response:
        route = (request.method, rest)
        if route == ("POST", "reset"):
            self.reset()
            return json_response({"status": "reset"})
        if route == ("POST", "faults"):
            return json_response(self.set_faults(read_json_object(request)))
        if route == ("GET", "faults"):
            return json_response(self.fault_settings())
        if route == ("POST", "config"):
            return json_response(self.configure(**read_json_object(request)))
        if route == ("GET", "config"):
            with self._lock:
                return json_response(self._settings_json())
        if route == ("POST", "invalidate_sessions"):
            return json_response({"invalidated": self.invalidate_sessions()})
        if route == ("GET", "stats"):
            return json_response(self.stats())
        if request.method == "GET" and rest.startswith("records/"):
            return self._records_reply(rest.removeprefix("records/"))
        return error_response(404, "no such SQUIZZ admin endpoint")

    def _records_reply(self, type_text: str) -> Response:
        import_type = IMPORT_TYPES.get(_as_int(type_text))
        if import_type is None:
            return error_response(404, f"no import type {type_text}")
        reply: dict[str, Any] = {"import_type_id": import_type.type_id, "name": import_type.name}
        with self._lock:
            reply["records"] = self._data.read_back(import_type.type_id)
            if import_type.price_group_member_type:
                reply["priceGroups"] = copy.deepcopy(self._data.price_groups)
        return json_response(reply)

    def _settings_json(self) -> dict[str, Any]:
        settings = asdict(self._settings)
        settings["token_cost_by_type"] = {str(k): v for k, v in settings["token_cost_by_type"].items()}
        return settings

    def _load(self) -> tuple[OrgData, dict[str, Any]]:
        data = OrgData()
        for collection, rows in self._store.load_collections().items():
            table = data.tables[int(collection.removeprefix("type_"))]
            for text, stored in rows:
                table[key_from_text(text)] = stored
        data.price_groups = self._store.load_value("price_groups", {})
        return data, self._store.load_value("ledger", _empty_ledger())


def _flat_reply(code: ResultCode, message: str, **extra: Any) -> Response:
    return json_response(
        {
            "result": "SUCCESS" if code == ResultCode.SUCCESS else "FAILURE",
            "result_code": str(code),
            "result_message": message,
            "api_version": API_VERSION,
            **extra,
        }
    )


def _form(request: Request) -> dict[str, list[str]]:
    """The form fields of a form-encoded body; any other body has none."""
    if request.header("content-type").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return {}
    return parse_qs(request.body.decode("utf-8", errors="replace"))


def _empty_ledger() -> dict[str, Any]:
    # Type ids are string keys so the ledger reads the same before and after a JSON round trip.
    return {"tokens_spent": 0, "tokens_by_type": {}, "imports_by_type": {}, "records_by_type": {}, "imports": []}


def _add(counter: dict[str, int], type_id: int, amount: int) -> None:
    counter[str(type_id)] = counter.get(str(type_id), 0) + amount


def _collection(type_id: int) -> str:
    return f"type_{type_id}"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _as_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _require_count(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AdminRequestError(f"{name} must be a whole number >= 0")


