"""SQUIZZ.com on the outbound contract: 16 ESD import types, one synchronous sender, one token per record.

Everything SQUIZZ-specific stays in this package (field tables, mapping,
limits, the ESD envelope, the client); this module only says how those parts
fill the contract in `targets/core/contract.py`.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from b2b_assets.defs.squizz.resources import SquizzResource, default_squizz
from b2b_assets.targets.core.contract import KEY_SEPARATOR, RECORD_KEY, Batch, Mode, Reference, Target, TargetObject
from b2b_assets.targets.core.contract import RecordsRejected
from b2b_assets.targets.squizz.client import CREDENTIAL_ENV_NAMES, EncodedImport, SquizzClient, encode_import
from b2b_assets.targets.squizz.errors import SquizzDocumentRejected
from b2b_assets.targets.squizz.field_map import CHILD_COLUMNS
from b2b_assets.targets.squizz.import_types import IMPORT_TYPES, ImportType, import_type
from b2b_assets.targets.squizz.limits import check_target_limits, rejection_reasons
from b2b_assets.targets.squizz.mapping import Payload, to_payload

# What the bundled sandbox accepts; b2b-sync sets these only when it starts that sandbox itself.
SANDBOX_CREDENTIALS = dict(zip(CREDENTIAL_ENV_NAMES, ("sandbox-org", "sandbox-key", "sandbox-password"), strict=True))


class SquizzSender:
    """import_esd per batch: accepted in the same answer, or refused as a whole document (the core bisects).

    Split into prepare (build and gzip, on the core's thread) and deliver (POST, on its worker thread),
    so the next document is built while SQUIZZ imports the last one.
    """

    def __init__(self, client: SquizzClient):
        self.client = client

    def send(self, batch: Batch) -> None:
        self.deliver(self.prepare(batch))

    def prepare(self, batch: Batch) -> EncodedImport:
        """The batch's ESD document, written column by column and compressed: no network."""
        spec, payload = import_type(batch.object.name), batch.payload
        return encode_import(spec.type_id, payload.data_records(batch.records), spec.data_fields,
                             transfer_mode="COMPLETE" if batch.complete else "INCREMENT",
                             child_data_fields=spec.child_data_fields or None,
                             price_groups=payload.price_groups_for(batch.records))

    def deliver(self, document: EncodedImport) -> None:
        try:
            self.client.post_import(document)
        except SquizzDocumentRejected as rejected:
            raise RecordsRejected(rejected.code, rejected.vendor_message) from rejected

    def delete(self, batch: Batch) -> None:
        """SQUIZZ deletes by key with `drop: 3` in an INCREMENT document."""
        spec = import_type(batch.object.name)
        parts = batch.records[RECORD_KEY].str.split(KEY_SEPARATOR, expand=True)
        docs = [dict(zip(spec.key_fields, values), drop=3) for values in parts.itertuples(index=False)]
        self.client.import_esd(spec.type_id, docs, spec.key_fields, transfer_mode="INCREMENT")


def _limits(spec: ImportType, payload: Payload) -> pd.Series:
    return rejection_reasons(check_target_limits(spec, payload))


def _row_by_row(spec: ImportType) -> bool:
    """Whether the type's mapping takes each hub row on its own, so the core may plan it a key range at a time.

    Nested records (a product's sell units, a location's stock) come with their parent's range. Not for
    customer account prices (price groups gather several entities) or stock quantities: those sum a
    product's stock over sites, which a range boundary could split.
    """
    return len(spec.source_entities) == 1 + len(_range_columns(spec)) and spec.name != "stock_quantities"


def _range_columns(spec: ImportType) -> tuple[tuple[str, str], ...]:
    """The nested entity and its column holding the parent's key, for types with nested records."""
    if spec.name not in CHILD_COLUMNS:
        return ()
    entity, parent_column, _fields = CHILD_COLUMNS[spec.name]
    return ((entity, parent_column),)


def _object(spec: ImportType) -> TargetObject:
    return TargetObject(
        name=spec.name,
        source_entities=spec.source_entities,
        key=spec.key_fields,
        to_payload=partial(to_payload, spec),
        limits=partial(_limits, spec),
        references=tuple(Reference(r.field, r.import_type, r.in_child, r.many) for r in spec.references),
        # COMPLETE uploads: SQUIZZ deactivates every record of the type the document lacks.
        mode=Mode(deletes=True, full_refresh=True),
        key_ranges=_row_by_row(spec),
        range_columns=_range_columns(spec),
        description=f"SQUIZZ import type {spec.type_id} ({spec.name}) from hub {', '.join(spec.source_entities)}.",
    )


def _sender(resource: SquizzResource) -> SquizzSender:
    return SquizzSender(resource.client())


def _check_credentials(resource: SquizzResource) -> str:
    """Create a session with the organisation's API key and password, and destroy it: no tokens spent."""
    client = resource.client()
    try:
        client.create_session()
    finally:
        client.close()  # destroys the session it made
    return "session created and destroyed (no trading tokens)"


TARGET = Target(
    name="squizz",
    title="SQUIZZ",
    objects=tuple(_object(spec) for spec in IMPORT_TYPES),
    sender=_sender,
    check_credentials=_check_credentials,
    resource_key="squizz",
    default_resource=default_squizz,
    kinds=frozenset({"squizz", "api"}),
    cost_unit="trading tokens",  # one per record in an accepted document; refused documents cost nothing
    sandbox_environment=SANDBOX_CREDENTIALS,
    url_environment="SQUIZZ_API_URL",
)
