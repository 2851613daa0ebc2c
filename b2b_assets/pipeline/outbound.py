"""Pushing the hub to SQUIZZ, one import type at a time, through the target-independent core."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from b2b_assets.model.frames import key_isin
from b2b_assets.store import Store
from b2b_assets.targets.core.plan import DeletionPolicy, LedgerState, payload_hash
from b2b_assets.targets.core.references import TargetReference, held_reasons
from b2b_assets.targets.core.send import RecordsRejected
from b2b_assets.targets.core.sync import SyncReport, sync_entity
from b2b_assets.targets.squizz.client import SquizzClient
from b2b_assets.targets.squizz.columns import KEY_SEPARATOR
from b2b_assets.targets.squizz.errors import SquizzDocumentRejected
from b2b_assets.targets.squizz.import_types import ImportType
from b2b_assets.targets.squizz.limits import check_target_limits, rejection_reasons
from b2b_assets.targets.squizz.mapping import to_payload

TARGET = "squizz"
COMPLETE_MAX_RECORDS = 50_000  # a COMPLETE upload must be one document; beyond this, refuse rather than split it


@dataclass(frozen=True)
class OutboundOptions:
    dry_run: bool = False
    full_refresh: bool = False  # resend everything as one COMPLETE document: SQUIZZ deactivates what it lacks
    batch_size: int = 500
    deletions: DeletionPolicy = DeletionPolicy()
    # Dry runs only: where each type notes the keys it would send, so that the types after it count those
    # as present at the target (as they would be in a real run) instead of holding everything that uses them.
    dry_run_dir: Path | None = None


def hub_frames(store: Store, entities: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The hub's records of each entity, less those the latest complete export no longer had."""
    return {name: store.hub.read_all(name, in_source=True) for name in entities}


def sync_import_type(store: Store, client: SquizzClient | None, spec: ImportType,
                     options: OutboundOptions = OutboundOptions()) -> SyncReport:
    payload = to_payload(spec, hub_frames(store, spec.source_entities))
    records = payload.records.reset_index(drop=True)
    # Self-references (a sell unit's parent) resolve within the same document, so only other types can hold.
    foreign = tuple(TargetReference(r.field, r.import_type, r.in_child, r.many)
                    for r in spec.references if r.import_type != spec.name)
    known = {r.entity: pd.Index(store.ledger.keys_in_state(TARGET, r.entity, LedgerState.SENT.value))
                       .union(_planned_keys(options, r.entity)) for r in foreign}
    nested_held = _hold_back_children(payload, [r for r in foreign if r.in_child], known)
    hashes = payload_hash(records, payload.children)
    held = held_reasons(records, None, tuple(r for r in foreign if not r.in_child), known)
    invalid = rejection_reasons(check_target_limits(spec, payload))
    mode = "COMPLETE" if options.full_refresh else "INCREMENT"
    if options.full_refresh and len(records) > COMPLETE_MAX_RECORDS:
        raise ValueError(f"squizz/{spec.name}: a full refresh sends one COMPLETE document, and {len(records)} "
                         f"records exceed the {COMPLETE_MAX_RECORDS} this project will put in one document")

    def send(rows: pd.DataFrame) -> None:
        try:
            client.import_esd(spec.type_id, payload.to_esd_records(rows), spec.data_fields, transfer_mode=mode,
                              child_data_fields=spec.child_data_fields or None,
                              price_groups=payload.price_groups_for(rows))
        except SquizzDocumentRejected as rejected:
            if mode == "COMPLETE":
                # Splitting a COMPLETE upload would deactivate everything outside each half.
                raise RuntimeError(f"squizz/{spec.name}: the full refresh document was refused, nothing changed: "
                                   f"{rejected}") from rejected
            raise RecordsRejected(rejected.code, rejected.vendor_message) from rejected

    def delete(rows: pd.DataFrame) -> None:
        parts = rows["record_key"].str.split(KEY_SEPARATOR, expand=True)
        docs = [dict(zip(spec.key_fields, values), drop=3) for values in parts.itertuples(index=False)]
        client.import_esd(spec.type_id, docs, spec.key_fields, transfer_mode="INCREMENT")

    report = sync_entity(
        target=TARGET, entity=spec.name, records=records, hashes=hashes, ledger=store.ledger, send=send,
        delete=delete, batch_size=len(records) if options.full_refresh else options.batch_size,
        held=held, invalid=invalid, dry_run=options.dry_run, full_refresh=options.full_refresh,
        deletions=options.deletions,
    )
    report.counts["nested_held"] = nested_held
    if options.dry_run and options.dry_run_dir is not None:
        options.dry_run_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"record_key": report.would_send}).to_parquet(options.dry_run_dir / f"{spec.name}.parquet")
    return report


def _planned_keys(options: OutboundOptions, type_name: str) -> pd.Index:
    path = options.dry_run_dir / f"{type_name}.parquet" if options.dry_run and options.dry_run_dir else None
    if path is None or not path.exists():
        return pd.Index([], dtype="string")
    return pd.Index(pd.read_parquet(path)["record_key"].astype("string"))


def _hold_back_children(payload, references: list[TargetReference], known: dict[str, pd.Index]) -> int:
    """Leave out nested rows (a location's stock of a product SQUIZZ lacks) rather than the whole parent.

    The parent's hash covers only the nested rows it is sent with, so once the
    missing record lands the parent's hash changes and it is sent again, complete.
    """
    children = payload.children
    if children is None or children.empty or not references:
        return 0
    keep = pd.Series(True, index=children.index)
    for ref in references:
        values = children[ref.field].astype("string")
        keep &= values.isna() | (values == "") | key_isin(values, known[ref.entity])
    payload.children = children[keep.to_numpy()]
    return int((~keep).sum())
