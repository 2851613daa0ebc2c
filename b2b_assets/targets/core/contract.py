"""The outbound target contract: what a target (SQUIZZ, JOOR, Norce, ...) gives the core.

Shaped like dlt's destinations and Census's custom destination API: a target
declares its objects and a sender; the core (planning against the sync
ledger, holding records whose references the target lacks, isolating refused
records, settling asynchronous jobs, dry runs and their cost) is shared.

How a target implements it
--------------------------
1. A package `b2b_assets/targets/<vendor>/` with a module defining one
   `Target` (by convention `targets/<vendor>/target.py`, `TARGET = Target(...)`):
   - `objects`: one `TargetObject` per thing it syncs, in an order that
     satisfies their `references` (the asset key is `<target>/<object>`);
   - `to_payload(frames) -> Payload` per object: the hub frames of the
     object's `source_entities` (keyed by entity name) mapped to one row per
     target record (`RECORD_KEY` + payload fields; columns starting with "_"
     are hashed and checked but never sent) and, for nested arrays, a
     `children` frame with `PARENT_KEY`. It must be a pure function of the rows
     it is given: the core may hand it a bounded batch (a key range of
     the primary entity, with every nested child of those keys) instead of the
     whole entity, so a target never assumes it sees everything at once;
   - `limits(payload) -> Series` per object: the target's own rules (lengths,
     scales, mandatory fields, a price > 0 ...) as one reason string per
     refused record_key. The hub keeps the widest rule any target accepts; a
     record refused here is refused for this target only;
   - `sender(resource) -> SyncSender | AsyncSender`, built from the target's
     Dagster resource (`resource_key`, `default_resource()`);
   - `cost(object, records) -> int` with `cost_unit` ("trading tokens",
     "credits"): what sending that many records costs, for dry runs.
2. A sandbox under `b2b_assets/sandbox/` the tests and `b2b-sync` run against.
3. ONE line in `b2b_assets/targets/registry.py` adding the target to `TARGETS`.
   Definitions, the asset factory, the CLI summary and the conformance suite
   iterate the registry; nothing else changes.

Senders
-------
- `SyncSender.send(batch)`: the target accepts the whole batch in one answer,
  or raises `RecordsRejected` when it refuses it for its data (the core
  bisects the batch until each refused record stands alone). Any other
  exception stops the object: a transport, account or configuration fault.
- `AsyncSender.submit(batch) -> job id`, then `poll(job id) -> JobStatus`.
  Records in a submitted job are `submitted` in the ledger (with the job id),
  never `sent`, until a poll reports the job finished. A run that ends while
  a job runs leaves them `submitted`; the next run polls them first and never
  submits a record that is still in an open job. A failed job makes its
  records `rejected` with the target's message; they are retried next run.
- A `SyncSender` may also implement `prepare(batch) -> document` (build and
  encode, no network) and `deliver(document)` (send it; raise RecordsRejected
  as `send` does). The core then builds the next batch while the current one
  is in flight, one request at a time; without them it calls `send` on its
  worker thread. Either way a sender is used by one thread at a time.
- A `SyncSender` of a `one_batch` object may implement `send_parts(batches)`
  (`PartsSender`): the run's one batch as several, a part of the payload
  each, to deliver as one (a file written part by part), instead of `send`
  with everything gathered in memory. Not for a COMPLETE batch.
- Both may implement `delete(batch)` (mode.deletes) to remove records gone
  from the source (`batch.records` then holds only RECORD_KEY). With
  mode.full_refresh (synchronous senders only), `batch.complete` asks the
  target to replace everything it holds with the batch (SQUIZZ's COMPLETE
  upload); the core guards it like a deletion and sends it as one batch.
- Transport retries (429, 5xx, dropped connections) belong in the sender's
  HTTP session; anything that escapes `send`/`submit`/`poll` other than
  RecordsRejected stops the object, and the ledger keeps what was confirmed.
- Credentials come from the resource (environment variables); no message a
  sender raises may contain them.

Stability: JOOR and Norce build on this module. Change it compatibly only
(new optional fields with defaults), and say so here. Added since: `Mode.one_batch`
and `Target.asset_prefix` (for the JOOR Customer Sync file target); the optional
`PreparingSender` methods (pipelined sends), `TargetObject.key_ranges`, `range_columns` and `whole_entities`
(key ranges serve asynchronous senders too: their open jobs settle before the plan reads the ledger), and
`PartsSender`; `Target.max_rejected`
(the rejected records a target's checks tolerate before they fail at ERROR); `Target.check_credentials`
(b2b-sync ping); `Target.pool`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from b2b_assets.model.frames import key_isin

RECORD_KEY = "record_key"  # a target record's key field values joined with KEY_SEPARATOR
PARENT_KEY = "parent_key"  # in nested children: the record_key of the record they belong to
KEY_SEPARATOR = "\x1f"  # the ASCII unit separator: the source readers reject it inside a key value


class LedgerState(StrEnum):
    """Where a record stands at a target; the sync ledger stores exactly these."""

    SENT = "sent"  # the target confirmed it
    SUBMITTED = "submitted"  # in an asynchronous job the target has not finished yet (ledger job_id names it)
    REJECTED = "rejected"  # refused by the target or by its limits; retried next run
    HELD = "held"  # waits for a record it references to land at the target
    DELETED = "deleted"  # removed (or deactivated) at the target


LEDGER_STATES: tuple[str, ...] = tuple(s.value for s in LedgerState)


@dataclass(frozen=True)
class Reference:
    """A payload field (or a nested child's field) holding the key of another object of the same target.

    References drive the asset dependencies and holding: a record whose
    referenced record the target lacks is held until it lands. A reference to
    the object itself (a sell unit's parent) resolves within one batch and
    holds nothing.
    """

    field: str
    object: str
    in_child: bool = False
    many: bool = False  # the field holds a list of keys


@dataclass(frozen=True)
class Mode:
    """How an object is written. Upsert by key always; deletions and full refreshes only where the target can."""

    deletes: bool = False  # the sender implements delete(batch)
    full_refresh: bool = False  # the target takes a COMPLETE batch that replaces (deactivates) what it lacks;
    # synchronous senders only
    full_refresh_max_records: int = 50_000  # a COMPLETE batch must be one request; beyond this, refuse
    # Everything a run sends goes in one batch, whatever the run's batch size (a file target: one file per run).
    one_batch: bool = False


@dataclass
class Payload:
    """One object's mapped records.

    records: RECORD_KEY + one column per payload field, in the target's form;
      NA means "leave the field out". Columns starting with "_" are context for
      hashing and holding, never sent.
    children: PARENT_KEY + nested fields (a product's sell units), or None.
    A target may subclass it to carry what its sender needs (SQUIZZ: price groups).
    """

    records: pd.DataFrame
    children: pd.DataFrame | None = None

    def children_of(self, records: pd.DataFrame) -> pd.DataFrame | None:
        """The nested rows of these records (a slice of `records`)."""
        if self.children is None:
            return None
        return self.children[key_isin(self.children[PARENT_KEY], records[RECORD_KEY])]


@dataclass
class Batch:
    """What a sender sends in one request (or one job): a slice of an object's payload."""

    object: TargetObject
    # The payload the slice comes from, for its nested rows and object-wide context: the whole payload, or,
    # when a first sync streams its records from disk (targets/core/payload_parts.py), the part being sent.
    payload: Payload
    records: pd.DataFrame  # the rows to send, a slice of payload.records
    complete: bool = False  # full refresh: the target must replace what it holds with exactly these

    @property
    def keys(self) -> list[str]:
        return self.records[RECORD_KEY].astype(str).tolist()

    @property
    def children(self) -> pd.DataFrame | None:
        return self.payload.children_of(self.records)


class RecordsRejected(Exception):
    """The target refused a batch because of its records (not a transport or account problem)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.vendor_message = message


@dataclass(frozen=True)
class JobStatus:
    """An asynchronous job as the target reports it.

    finished: the target has stopped working on it. failed: it finished
    without applying the batch (message says why). rejected: per-record
    outcomes where the target gives them, record_key -> the target's code and
    message; records of a finished, not-failed job that are not in it count as
    confirmed.
    """

    finished: bool
    failed: bool = False
    message: str = ""
    rejected: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class SyncSender(Protocol):
    def send(self, batch: Batch) -> None:
        """Send the batch; return when the target confirmed it, raise RecordsRejected if it refused it."""


@runtime_checkable
class PreparingSender(Protocol):
    """A SyncSender whose send splits in two, so the core can build one batch while the last is in flight."""

    def prepare(self, batch: Batch) -> Any:
        """The batch as the document to send (built and encoded here; no network)."""

    def deliver(self, document: Any) -> None:
        """Send a prepared document; return when the target confirmed it, raise RecordsRejected if it refused it."""


@runtime_checkable
class PartsSender(Protocol):
    """A SyncSender of a `Mode.one_batch` object that takes the run's one batch a part of the payload at a time
    (a file written as the parts come), so the core never gathers what a first sync sends in memory."""

    def send_parts(self, batches: Iterable[Batch]) -> None:
        """Send the batches, in order, as ONE delivery; return once the target has all of it, else raise."""


@runtime_checkable
class AsyncSender(Protocol):
    poll_interval_seconds: float  # how long the core waits between polls of an open job

    def submit(self, batch: Batch) -> str:
        """Hand the batch to the target as one job; return the target's job id."""

    def poll(self, job_id: str) -> JobStatus:
        """Where the job stands now (one request, no waiting)."""


Sender = SyncSender | AsyncSender


@dataclass(frozen=True)
class TargetObject:
    """One thing a target syncs (a SQUIZZ import type, a JOOR endpoint, a Norce entity)."""

    name: str
    source_entities: tuple[str, ...]  # hub entities to_payload reads; the first is the primary one
    key: tuple[str, ...]  # payload fields RECORD_KEY is built from, in order
    to_payload: Callable[[Mapping[str, pd.DataFrame]], Payload]
    limits: Callable[[Payload], pd.Series] | None = None  # record_key -> reason the target would refuse it
    references: tuple[Reference, ...] = ()
    mode: Mode = Mode()
    description: str = ""
    # to_payload maps each row of the primary source entity on its own: the core may then build, hash and
    # plan the object a key range of the hub at a time, keeping only what changed, instead of holding the
    # whole entity (pipeline/outbound_ranges.py).
    key_ranges: bool = False
    # With key_ranges, each other source entity (nested rows) and its column holding the primary entity's
    # one (text) key, as (entity, column): a range of products comes with the sell units whose product_id
    # falls in it. The Payload's own fields beside records and children must not depend on the range.
    range_columns: tuple[tuple[str, str], ...] = ()
    # With key_ranges, the other source entities handed whole to every range: small lookups a record takes
    # values from by key (JOOR's sales reps, payment types and sites). A change to one re-plans every row.
    whole_entities: tuple[str, ...] = ()

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Objects that must be synced first (self-references resolve within a batch)."""
        seen: list[str] = []
        for ref in self.references:
            if ref.object != self.name and ref.object not in seen:
                seen.append(ref.object)
        return tuple(seen)


def one_per_record(_obj: TargetObject, records: int) -> int:
    """The common cost: one unit per record sent."""
    return records


@dataclass(frozen=True)
class Target:
    """A target: its objects, its sender, its Dagster resource and what sending costs."""

    name: str  # ledger target; also asset key prefix and group name unless asset_prefix says otherwise
    title: str  # how people write it: "SQUIZZ", "JOOR"
    objects: tuple[TargetObject, ...]  # in dependency order
    sender: Callable[[Any], Sender]  # built from the target's resource, once per run
    resource_key: str
    default_resource: Callable[[], Any]  # the dg.ConfigurableResource definitions.py binds to resource_key
    kinds: frozenset[str] = frozenset({"api"})
    cost_unit: str = "records"
    cost: Callable[[TargetObject, int], int] = one_per_record
    # The environment b2b-sync sets when it starts the bundled sandbox (sandbox credentials), and the
    # variable whose presence says a real endpoint is configured instead.
    sandbox_environment: Mapping[str, str] = field(default_factory=dict)
    url_environment: str = ""
    # Where a vendor has two channels (JOOR's API and its Customer Sync file), both keep the vendor's asset
    # prefix and group (joor/connections, joor/customer_sync_file) with a ledger target of their own.
    asset_prefix: str = ""
    # The Dagster pool of its assets (dagster.yaml: one step per pool at a time, across runs), the target's
    # name when empty: one import at a time per vendor account (SQUIZZ answers BUSY otherwise).
    pool: str = ""
    # Rejected records above this fail the target's checks at ERROR (0: any rejected record does). The
    # environment (B2B_<NAME>_MAX_REJECTED) and a run's config override it; see defs/health/policy.py.
    max_rejected: int = 0
    # The target's cheapest call that needs the credentials (`b2b-sync ping`): given the resource, it returns
    # what answered, or raises when the target refuses them. A run contacts a target only when something
    # needs sending, so this is how wrong credentials show before they matter.
    check_credentials: Callable[[Any], str] | None = None

    @property
    def key_prefix(self) -> str:
        """The asset key prefix and group name."""
        return self.asset_prefix or self.name

    def object(self, name: str) -> TargetObject:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"{self.title} has no object {name!r}; known: {', '.join(o.name for o in self.objects)}")
