"""A first sync planned in key ranges sends from parts spilled to disk, and SQUIZZ sites go a few at a time.

The records a ranged plan keeps to send are written to temporary Arrow files as each range is planned and
read back a part at a time while they are sent: they must come back exactly as mapped (dtypes, lists, nested
rows), the files must be gone once the sync ends, and a location's document carries the stock of a bounded
number of sites rather than of every site at once.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import tempfile
from pathlib import Path

import pandas as pd

from b2b_assets.pipeline.outbound import OutboundOptions, hub_frames, sync_object
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.store import Store
from b2b_assets.targets.core.payload_parts import PayloadParts
from b2b_assets.targets.squizz.client import EncodedImport
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender

from .test_ranged_nested_plan import REFERENCED, WHOLE, copy_hub, generated_hub  # noqa: F401
from .test_squizz_sync import make_client


class DocumentSender(SquizzSender):
    """The SQUIZZ sender, keeping each accepted document's dataRecords, one list per document."""

    def __init__(self, client):
        super().__init__(client)
        self.documents: list[list[dict]] = []
        self.parts_on_disk: list[int] = []  # spilled part directories present as each document went out

    def deliver(self, document: EncodedImport) -> None:
        super().deliver(document)
        self.documents.append(json.loads(gzip.decompress(document.body))["dataRecords"])
        self.parts_on_disk.append(len(spilled_parts()))


def spilled_parts() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("b2b-payload-*"))


def test_spilled_parts_come_back_as_mapped(generated_hub: Path):  # noqa: F811
    store = Store(f"sqlite:///{generated_hub}")
    for name in ("products", "locations"):
        obj = SQUIZZ.object(name)
        payload = obj.to_payload(hub_frames(store, obj.source_entities))
        halves = [payload.records.iloc[:len(payload.records) // 2], payload.records.iloc[len(payload.records) // 2:]]
        with PayloadParts.spilling(part_rows=1) as parts:
            for half in halves:
                parts.append(dataclasses.replace(payload, records=half, children=payload.children_of(half)))
            back = list(parts)
            assert len(back) == 2 and parts.keys().tolist() == payload.records["record_key"].tolist()
            for half, part in zip(halves, back, strict=True):
                assert part.records.dtypes.equals(half.dtypes), name
                assert part.records.equals(half.reset_index(drop=True)), name
                assert part.children.equals(payload.children_of(half).reset_index(drop=True)), name
                assert part.child_field == payload.child_field
    store.dispose()
    # Lists (an account's payment types) come back as Python lists, as mapped.
    accounts = pd.DataFrame({"record_key": pd.Series(["A", "B"], dtype="string"),
                             "keyPaymentTypeIDs": pd.Series([["CARD", "EFT"], None], dtype=object)})
    with PayloadParts.spilling(part_rows=1) as parts:
        parts.append(type(payload)(accounts))
        (part,) = list(parts)
        assert part.records["keyPaymentTypeIDs"].tolist() == [["CARD", "EFT"], None]


def test_a_ranged_first_sync_sends_sites_a_few_at_a_time_and_leaves_no_files(generated_hub: Path,  # noqa: F811
                                                                             tmp_path: Path, monkeypatch):
    store = copy_hub(Store(f"sqlite:///{generated_hub}"), tmp_path / "hub.sqlite")
    stock = store.hub.count("stock_levels")
    sites = store.hub.count("sites")
    # This process's own temp dir (as TMPDIR would set it): other test workers spill into the machine's.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    with start_sandboxes() as sandboxes:
        client = make_client(sandboxes)
        try:
            for name in (*REFERENCED, "products"):
                sync_object(store, SQUIZZ, SQUIZZ.object(name), SquizzSender(client), WHOLE)
            sender = DocumentSender(client)
            # Ranges of 200 rows: each holds two sites and their stock (about 86 rows a site), not all 7.
            report = sync_object(store, SQUIZZ, SQUIZZ.object("locations"), sender,
                                 OutboundOptions(batch_size=50, plan_range_rows=200))
        finally:
            client.close()
    assert report.counts["sent"] == sites == 7
    nested = [sum(len(r["productStock"]) for r in document) for document in sender.documents]
    assert sum(nested) == stock and len(sender.documents) > 1
    assert max(nested) <= 2 * 200  # a part gathers sites until it holds plan_range_rows stock rows
    assert set(sender.parts_on_disk) == {1}  # the kept sites waited on disk while they were sent ...
    assert spilled_parts() == []  # ... and are removed once sent
    store.dispose()
