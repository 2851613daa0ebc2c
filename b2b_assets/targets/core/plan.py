"""The planner: sort mapped records into new / changed / unchanged / held / invalid / pending, plus deletions.

Everything here is column operations over the whole entity; no record is
looked at one by one. The payload hash covers the payload's column names as
well as its values, so a mapping change (a field added, renamed or formatted
differently) changes every hash and triggers a resend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from b2b_assets.model.decimals import hashable
from b2b_assets.model.frames import key_positions
from b2b_assets.targets.core.contract import KEY_SEPARATOR, LEDGER_STATES, PARENT_KEY, RECORD_KEY, LedgerState

NEW, CHANGED, UNCHANGED, HELD, INVALID = "new", "changed", "unchanged", "held", "invalid"
PENDING = "pending"  # in a job the target has not finished: never submitted again until it settles
ACTIONS = (NEW, CHANGED, UNCHANGED, HELD, INVALID, PENDING)
TO_SEND = (NEW, CHANGED)
_ACTION = {a: i for i, a in enumerate(ACTIONS)}
_STATE = {s: i for i, s in enumerate(LEDGER_STATES)}
_EMPTY_LEDGER = pd.DataFrame({"record_key": pd.Series([], dtype="string"), "payload_hash": pd.Series([], dtype="int64"),
                              "state": pd.Series([], dtype="string")})


def frame_hash(frame: pd.DataFrame) -> pd.Series:
    """uint64 hash per row of `frame`, salted with its column names, as int64 for storage.

    The same numbers `pd.util.hash_pandas_object` gives for the frame with every value as a Python object,
    but each column is hashed over its distinct values only (`_column_hashes`), so no object is made per
    row. A row's hash depends on that row alone: hashing in one batch or many gives the same numbers.
    """
    if frame.empty:
        return pd.Series([], dtype="int64", index=frame.index)
    salt = np.uint64(int.from_bytes((KEY_SEPARATOR.join(map(str, frame.columns))).encode()[:8].ljust(8, b"\0"), "little"))
    # Lists (an account's payment types, a price group's members) hash as their joined text.
    listy = [c for c in frame.columns if frame[c].dtype == object and frame[c].map(type).eq(list).any()]
    if listy:
        frame = frame.assign(**{c: frame[c].str.join(KEY_SEPARATOR) for c in listy})
    frame = hashable(frame)  # exact decimals as integers: exact, and not one Decimal object per value
    hashed = _combine([_column_hashes(frame[c]) for c in frame.columns], len(frame))
    return pd.Series((hashed ^ salt).view("int64"), index=frame.index)


_NULL_HASH = pd.util.hash_array(np.array([None], dtype=object))[0]  # NA hashes as the text "None"


def _column_hashes(column: pd.Series) -> np.ndarray:
    """pandas' hash of each value of `column` as a Python object, computed on its distinct values."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    distinct = np.asarray(uniques.to_numpy(dtype=object) if hasattr(uniques, "to_numpy") else uniques, dtype=object)
    hashes = pd.util.hash_array(distinct, categorize=False) if len(distinct) else np.zeros(0, dtype=np.uint64)
    return np.where(codes >= 0, hashes[np.maximum(codes, 0)] if len(hashes) else _NULL_HASH, _NULL_HASH)


def _combine(columns: list[np.ndarray], rows: int) -> np.ndarray:
    """Column hashes into one per row, as `hash_pandas_object` combines a frame's columns (CPython's tuple hash)."""
    out, multiplier = np.full(rows, 0x345678, dtype=np.uint64), np.uint64(1000003)
    for i, hashes in enumerate(columns):
        out ^= hashes
        out *= multiplier
        multiplier += np.uint64(82520 + 2 * (len(columns) - i))
    return out + np.uint64(97531)


def payload_hash(records: pd.DataFrame, children: pd.DataFrame | None = None, *,
                 key_column: str = RECORD_KEY, parent_column: str = PARENT_KEY) -> pd.Series:
    """One hash per record: its own fields, combined with the hashes of its nested children.

    Children are combined order-independently (a sum of their hashes), so the
    order an export lists a product's sell units in does not cause a resend.
    A record without children hashes the same whether or not the batch it is
    hashed in has children of other records (`children` given, even empty).
    """
    own = frame_hash(records.drop(columns=[key_column]))
    if children is None:  # an object without nested rows; a batch with none of them still mixes in zero
        return own
    per_record = np.zeros(len(records), dtype=np.int64)
    if not children.empty:
        child_hashes = frame_hash(children.drop(columns=[parent_column])).to_numpy()
        owner = key_positions(children[parent_column], records[key_column])
        mine = owner >= 0
        combined = pd.Series(child_hashes[mine]).groupby(owner[mine]).sum()  # int64 sums wrap: fine for mixing
        per_record[combined.index.to_numpy()] = combined.to_numpy()
    mixed = own.to_numpy().view("uint64") * np.uint64(0x9E3779B97F4A7C15) + per_record.view("uint64")
    return pd.Series(mixed.view("int64"), index=records.index)


@dataclass(frozen=True)
class DeletionPolicy:
    """Deletions are off by default; when on, a mass deletion is refused unless overridden.

    The share guard also covers full refreshes: a COMPLETE upload deactivates
    everything it lacks, so it is a deletion whether deletions are enabled or not.
    """

    enabled: bool = False
    max_share: float = 0.10
    override: bool = False


class DeletionRefused(RuntimeError):
    pass


@dataclass
class Plan:
    target: str
    entity: str
    records: pd.DataFrame  # record_key, payload_hash, action, reason
    deletions: pd.Series = field(default_factory=lambda: pd.Series([], dtype="string"))
    deletions_blocked: bool = False  # deletions found but the policy keeps them from being sent
    # Full refresh: records the target holds (ledger `sent`) that the COMPLETE upload lacks, so it deactivates.
    deactivations: pd.Series = field(default_factory=lambda: pd.Series([], dtype="string"))
    refusal: str | None = None  # plan(enforce=False): why a real run would refuse it

    def keys(self, *actions: str) -> pd.Series:
        return self.records.loc[self.records["action"].isin(actions), "record_key"]

    def counts(self) -> dict[str, int]:
        counts = {a: 0 for a in ACTIONS}
        counts.update({str(k): int(v) for k, v in self.records["action"].value_counts().items()})
        counts["deleted"] = 0 if self.deletions_blocked else int(len(self.deletions))
        counts["deletions_pending"] = int(len(self.deletions)) if self.deletions_blocked else 0
        counts["deactivated"] = int(len(self.deactivations))
        return counts


def plan(target: str, entity: str, hashes: pd.DataFrame, ledger: pd.DataFrame, *,
         held_reasons: pd.Series | None = None, invalid_reasons: pd.Series | None = None,
         full_refresh: bool = False, complete: bool = False,
         deletions: DeletionPolicy = DeletionPolicy(), enforce: bool = True) -> Plan:
    """Compare `hashes` (record_key, payload_hash) of the current payload with the ledger.

    held_reasons / invalid_reasons: reason strings indexed by record_key for
    records that must not be sent (a reference the target lacks; a value the
    target cannot take). A record previously rejected is always resent; a
    record in an open job is pending and not sent again.
    complete: the full refresh is one COMPLETE upload, so every confirmed
    record it lacks is a deactivation, guarded like deletions.
    enforce=False (dry runs): a refused removal is noted in `refusal` instead of raised.
    """
    current = hashes[["record_key", "payload_hash"]].reset_index(drop=True)
    ledger = ledger if not ledger.empty else _EMPTY_LEDGER
    # Each current record's row in the ledger (-1: never seen), by one Arrow hash lookup; then only arrays.
    at = key_positions(current["record_key"], ledger["record_key"])
    seen = at >= 0
    rows = at[seen]
    last_state = np.full(len(current), -1, dtype=np.int8)  # an index into LEDGER_STATES
    last_state[seen] = pd.Categorical(ledger["state"].to_numpy(dtype=object, na_value=None),
                                      categories=LEDGER_STATES).codes[rows]
    same = np.zeros(len(current), dtype=bool)
    ledger_hash = ledger["payload_hash"]  # a record may be in the ledger without a hash
    same[seen] = (ledger_hash.notna().to_numpy()[rows]
                  & (ledger_hash.to_numpy(dtype="int64", na_value=0)[rows]
                     == current["payload_hash"].to_numpy(dtype="int64")[seen]))
    same &= last_state == _STATE[LedgerState.SENT]
    action = np.where(same & ~full_refresh, _ACTION[UNCHANGED], _ACTION[CHANGED]).astype(np.int8)
    # Never seen, held last time, or once deleted at the target and back in the source: a create.
    action[~seen | np.isin(last_state, (_STATE[LedgerState.HELD], _STATE[LedgerState.DELETED]))] = _ACTION[NEW]
    action[last_state == _STATE[LedgerState.SUBMITTED]] = _ACTION[PENDING]
    reason = pd.Series(pd.NA, index=current.index, dtype="string")
    for label, reasons in ((HELD, held_reasons), (INVALID, invalid_reasons)):
        if reasons is not None and not reasons.empty:
            where = key_positions(current["record_key"], reasons.index)
            hit = where >= 0
            action[hit] = _ACTION[label]
            found = pd.Series(reasons.astype("string").to_numpy()[np.maximum(where, 0)], index=current.index)
            reason = reason.mask(hit, found)
    actions = pd.Series(pd.arrays.ArrowStringArray(pc.take(pa.array(ACTIONS), pa.array(action))), dtype="string")
    records = current.assign(action=actions, reason=reason)

    # What the target holds that the source no longer has: confirmed ledger rows no current record matched.
    sent_rows = ledger["state"].to_numpy(dtype=object, na_value=None) == LedgerState.SENT.value
    matched = np.zeros(len(ledger), dtype=bool)
    matched[rows] = True
    sent = ledger.loc[sent_rows, "record_key"]
    gone = ledger.loc[sent_rows & ~matched, "record_key"].astype("string").reset_index(drop=True)
    deactivations = pd.Series([], dtype="string")
    refusal = None
    if complete:
        sending = np.zeros(len(ledger), dtype=bool)
        sending[at[seen & np.isin(action, [_ACTION[a] for a in TO_SEND])]] = True
        deactivations = ledger.loc[sent_rows & ~sending, "record_key"].astype("string").reset_index(drop=True)
        refusal = _refusal(target, entity, deactivations, len(sent), deletions,
                           "a full refresh (COMPLETE upload) would deactivate them at the target")
        gone = pd.Series([], dtype="string")  # the COMPLETE upload itself removes them
    blocked = bool(len(gone)) and not deletions.enabled
    if deletions.enabled:
        refusal = _refusal(target, entity, gone, len(sent), deletions,
                           "they are gone from the source; refusing to delete them")
    if refusal is not None and enforce:
        raise DeletionRefused(refusal)
    return Plan(target, entity, records, gone, blocked, deactivations, refusal)


def _refusal(target: str, entity: str, removed: pd.Series, confirmed: int, policy: DeletionPolicy,
             why: str) -> str | None:
    """Why removing `removed` is refused: more than the policy's share of what the target holds, not overridden."""
    share = len(removed) / max(1, confirmed)
    if not len(removed) or policy.override or share <= policy.max_share:
        return None
    return (f"{target}/{entity}: {len(removed)} records ({share:.0%}) of the {confirmed} at the target, more than "
            f"the allowed {policy.max_share:.0%}; {why}. If the export is complete, rerun with "
            f"deletions_override = true.")
