"""What each target gives the conformance suite: a `Conformance` adapter over its sandbox.

A new target adds one adapter here (its sandbox, how to read what the sandbox
holds and how to steer its faults) and one entry in ADAPTERS; see
test_conformance.py for what the suite then checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.targets.core.contract import KEY_SEPARATOR, Target
from b2b_assets.targets.joor.file_target import TARGET as JOOR_FILE
from b2b_assets.targets.joor.target import TARGET as JOOR
from b2b_assets.targets.norce.target import TARGET as NORCE
from b2b_assets.targets.squizz.import_types import import_type
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

from .toy_sandbox import TOKEN, ToySandbox
from .toy_targets import TOY_ASYNC, TOY_SYNC, ToyResource


@dataclass(frozen=True)
class Conformance:
    """A target under test, and the handles on its sandbox the suite needs.

    sandbox(): a context manager that runs the sandbox and yields a handle the other callables take.
    resource(handle, secret): the target's Dagster resource against the sandbox; with `secret`, wrong
      credentials carrying that secret.
    stored(handle, object): the record keys the sandbox holds (active) for an object, duplicates kept,
      in the ledger's key form.
    received(handle): records the target has accepted, or taken into jobs, all told (what it charges for).
    faults(handle, rate): fail that share of API calls transiently (429/5xx/dropped), 0 to stop.
    refuse(handle, object, key): refuse that record from now on (None: stop refusing); `vendor_code` is in
      the reason the core reports for it.
    parent, child: objects where `child` references `parent` (the holding case); None where the target's
      objects reference nothing (JOOR's one object), which skips that case.
    changed: (hub entity, text column) the 1% case edits; `changed_object` reads it, keyed like the entity.
    hold_jobs / fail_jobs / max_submissions: asynchronous targets only: keep jobs running; make jobs fail
      (`job_failure_code` is in the reason); the most times any one record was handed to a job.
    not_applicable: case name -> why the case does not fit this target (the suite skips it with that reason).
    """

    target: Target
    sandbox: Callable[[], Any]
    resource: Callable[[Any, str | None], Any]
    stored: Callable[[Any, str], list[str]]
    received: Callable[[Any], int]
    faults: Callable[[Any, float], None]
    refuse: Callable[[Any, str, str | None], None]
    vendor_code: str
    parent: str | None
    child: str
    changed: tuple[str, str]
    changed_object: str
    refusable: str  # a key of `child` the refuse case uses
    hold_jobs: Callable[[Any, bool], None] | None = None
    fail_jobs: Callable[[Any, bool], None] | None = None
    job_failure_code: str = ""
    max_submissions: Callable[[Any], int] | None = None
    not_applicable: Mapping[str, str] = field(default_factory=dict)

    @property
    def asynchronous(self) -> bool:
        return self.hold_jobs is not None


# --- SQUIZZ ---------------------------------------------------------------------------------------------------

def _squizz_admin(sandboxes, method: str, path: str, body: dict | None = None) -> dict:
    reply = requests.request(method, f"{sandboxes.base_url}/squizz/_admin/{path}", json=body, timeout=5)
    reply.raise_for_status()
    return reply.json()


def _squizz_key_part(value: object) -> str:
    """The platform stores 50 where the ledger key says 50.0; compare numbers as numbers."""
    if value is None:
        return ""
    try:
        number = float(str(value))
    except ValueError:
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def squizz_ledger_form(record_key: str) -> str:
    return KEY_SEPARATOR.join(_squizz_key_part(p) for p in str(record_key).split(KEY_SEPARATOR))


def _squizz_stored(sandboxes, name: str) -> list[str]:
    spec = import_type(name)
    records = _squizz_admin(sandboxes, "GET", f"records/{spec.type_id}")["records"]
    return [KEY_SEPARATOR.join(_squizz_key_part(r.get(f)) for f in spec.key_fields)
            for r in records if r.get("active", True)]


def _squizz_resource(sandboxes, secret: str | None):
    from b2b_assets.defs.squizz.resources import SquizzResource

    return SquizzResource(base_url=f"{sandboxes.base_url}/squizz", org_id="sandbox-org", api_key="sandbox-key",
                          api_password=secret or "sandbox-password", backoff_factor=0.01,
                          retry_budget_seconds=30)


def _squizz_faults(sandboxes, rate: float) -> None:
    third = rate / 3
    _squizz_admin(sandboxes, "POST", "faults", {"seed": 11, "rate_limit": third, "server_error": third,
                                                "drop": third, "retry_after_seconds": 0,
                                                "apply_to": ["import_esd", "create_session"]} if rate else {})


def _squizz_refuse(sandboxes, name: str, key: str | None) -> None:
    rejects = [{"import_type_id": import_type(name).type_id, "key": key, "code": "BAD_PRODUCT",
                "message": "refused by the conformance suite"}] if key else []
    _squizz_admin(sandboxes, "POST", "faults", {"reject": rejects})


SQUIZZ_CONFORMANCE = Conformance(
    target=SQUIZZ, sandbox=start_sandboxes, resource=_squizz_resource, stored=_squizz_stored,
    received=lambda s: int(_squizz_admin(s, "GET", "stats")["tokens_spent"]),
    faults=_squizz_faults, refuse=_squizz_refuse, vendor_code="SERVER_ERROR_ESD_DOCUMENT_UNSUCCESSFUL",
    parent="taxcodes", child="products", changed=("products", "name"), changed_object="products",
    refusable="KT-1005",
)


# --- Norce -----------------------------------------------------------------------------------------------------

def _norce_resource(sandboxes, secret: str | None):
    from b2b_assets.defs.norce.resources import NorceResource
    from b2b_assets.sandbox.norce.sandbox import DEFAULT_APPLICATION_KEY

    return NorceResource(base_url=f"{sandboxes.base_url}/norce", client_id="sandbox-client",
                         client_secret=secret or "sandbox-secret", application_key=DEFAULT_APPLICATION_KEY,
                         backoff_factor=0.01, retry_budget_seconds=30, poll_interval_seconds=0.01)


def _norce_stored(sandboxes, name: str) -> list[str]:
    records = sandboxes.norce.companies() if name == "companies" else sandboxes.norce.customers()
    return [record["Code"] for record in records]


def _norce_faults(sandboxes, rate: float) -> None:
    third = rate / 3
    sandboxes.norce.set_faults({"seed": 11, "rate_limit": third, "server_error": third, "drop": third,
                                "retry_after_seconds": 0,
                                "apply_to": ["token", "ImportCompanies", "ImportCustomers", "Job/Get", "Job/GetLog"]}
                               if rate else {})


def _norce_refuse(sandboxes, name: str, key: str | None) -> None:
    operation = "ImportCompanies" if name == "companies" else "ImportCustomers"
    rules = [{"code": key, "message": "refused by the conformance suite", "operation": operation}] if key else []
    sandboxes.norce.set_faults({"reject": rules})


NORCE_CONFORMANCE = Conformance(
    target=NORCE, sandbox=start_sandboxes, resource=_norce_resource, stored=_norce_stored,
    received=lambda s: sum(job["records"] for job in s.norce.stats()["imports"]),
    faults=_norce_faults, refuse=_norce_refuse, vendor_code="SEVERITY_3",
    parent="companies", child="customers", changed=("users", "name"), changed_object="customers",
    refusable="U-5003",
    hold_jobs=lambda s, held: s.norce.configure(jobs_paused=held),
    # fail_next_jobs counts jobs down; a count no case reaches stands for "from now on".
    fail_jobs=lambda s, failing: s.norce.configure(fail_next_jobs=10_000 if failing else 0),
    job_failure_code="JOB_3",
    max_submissions=lambda s: max(s.norce.stats()["submissions"].values(), default=0),
)


# --- the two toy targets --------------------------------------------------------------------------------------

def _toy_get(sandbox: ToySandbox, path: str) -> dict:
    return requests.get(f"{sandbox.base_url}/_admin/{path}", timeout=5).json()


def _toy_steer(sandbox: ToySandbox, **settings: Any) -> None:
    requests.post(f"{sandbox.base_url}/_admin/steer", json=settings, timeout=5).raise_for_status()


@contextmanager
def _toy_sandbox() -> Iterator[ToySandbox]:
    with ToySandbox() as sandbox:
        yield sandbox


def _toy(target: Target, asynchronous: bool) -> Conformance:
    return Conformance(
        target=target, sandbox=_toy_sandbox,
        resource=lambda s, secret: ToyResource(base_url=s.base_url, token=secret or TOKEN),
        stored=lambda s, name: _toy_get(s, f"records/{name}")["keys"],
        received=lambda s: _toy_get(s, "stats")["received"],
        faults=lambda s, rate: _toy_steer(s, fault_rate=rate),
        refuse=lambda s, name, key: _toy_steer(s, refuse=[key] if key else []),
        vendor_code="TOY_REFUSED", parent="tax_codes", child="products", changed=("products", "name"),
        changed_object="products", refusable="KT-1005",
        hold_jobs=(lambda s, held: _toy_steer(s, hold_jobs=held)) if asynchronous else None,
        fail_jobs=(lambda s, failing: _toy_steer(s, fail_jobs=failing)) if asynchronous else None,
        job_failure_code="TOY_JOB_FAILED",
        max_submissions=(lambda s: _toy_get(s, "stats")["max_submissions"]) if asynchronous else None,
    )


# --- JOOR -----------------------------------------------------------------------------------------------------

def _joor_resource(sandboxes, secret: str | None):
    from b2b_assets.defs.joor.resources import JoorResource

    # A roomy credit budget: the suite is about the core, the budget has its own tests (test_client.py).
    return JoorResource(base_url=f"{sandboxes.base_url}/joor", token=secret or "sandbox-token",
                        poll_interval_seconds=0.02, backoff_factor=0.01, retry_budget_seconds=30,
                        credits_per_window=100_000)


def _joor_faults(sandboxes, rate: float) -> None:
    third = rate / 3
    sandboxes.joor.set_faults({"seed": 11, "rate_limit": third, "server_error": third, "drop": third,
                               "retry_after_seconds": 0} if rate else {})


def _joor_refuse(sandboxes, _name: str, key: str | None) -> None:
    comment = "refused by the conformance suite"
    sandboxes.joor.set_faults({"reject": [{"customer_code": key, "comment": comment}] if key else []})


def _joor_submissions(sandboxes) -> int:
    counts = Counter(code for job in sandboxes.joor.jobs() for code in job["customer_codes"])
    return max(counts.values(), default=0)


JOOR_CONFORMANCE = Conformance(
    target=JOOR, sandbox=start_sandboxes, resource=_joor_resource,
    stored=lambda s, _name: list(s.joor.connections()),
    received=lambda s: sum(job["connection_record_count"] for job in s.joor.jobs()),
    faults=_joor_faults, refuse=_joor_refuse, vendor_code="JOOR refused the connection",
    parent=None, child="connections", changed=("organizations", "organization_name"),
    changed_object="connections", refusable="C-1005",
    hold_jobs=lambda s, held: s.joor.configure(hold_started=held),
    # JOOR's failure carries a comment and a log_id; the log_id must reach the reason.
    fail_jobs=lambda s, failing: s.joor.configure(fail_next_jobs=1_000 if failing else 0), job_failure_code="log_id",
    max_submissions=_joor_submissions,
)


# --- JOOR Customer Sync (a file over FTP) -------------------------------------------------------------------

def _joor_file_resource(sandboxes, secret: str | None):
    from b2b_assets.defs.joor.ftp_resources import JoorFtpResource

    ftp = sandboxes.joor_ftp
    return JoorFtpResource(host=ftp.host, port=ftp.port, username="sandbox-joor",
                           password=secret or "sandbox-ftp-password", retries=12, backoff_seconds=0.01)


JOOR_FILE_CONFORMANCE = Conformance(
    target=JOOR_FILE, sandbox=start_sandboxes, resource=_joor_file_resource,
    stored=lambda s, _name: list(s.joor_ftp.connections()),
    # What JOOR's intake was handed: every customer of every file picked up, refused rows' customers included.
    received=lambda s: sum(len(f["customers"]) + len(f["refused"]) for f in s.joor_ftp.files()),
    faults=lambda s, rate: s.joor_ftp.set_faults({"seed": 11, "drop_rate": rate} if rate else {}),
    refuse=lambda s, _name, _key: None, vendor_code="", parent=None, child="customer_sync_file",
    changed=("organizations", "organization_name"), changed_object="customer_sync_file", refusable="C-1005",
    not_applicable={
        "refuse": "a file target has no per-record refusal: the FTP server takes the file whole, and JOOR's "
                  "intake reports refused rows by e-mail, out of the client's sight (the seed's rules are "
                  "checked before sending instead: customer_file.limits)",
        "kill": "one file per run: a worker killed after the upload resends the whole file next run, which JOOR "
                "applies again by customer code; there is no second batch to lose",
    },
)


ADAPTERS = {"squizz": SQUIZZ_CONFORMANCE, "joor": JOOR_CONFORMANCE, "joor_file": JOOR_FILE_CONFORMANCE,
            "norce": NORCE_CONFORMANCE, "toy_sync": _toy(TOY_SYNC, False), "toy_async": _toy(TOY_ASYNC, True)}
