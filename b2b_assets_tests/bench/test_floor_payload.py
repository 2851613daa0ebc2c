"""The benchmark's floor posts the project's payload: the same bytes, and the same records land in the sandbox.

A small generated export is staged and synced by the project (stage_entity,
load_entity, sync_object with the SQUIZZ sender) into one sandbox; a second
sandbox gets the same reference types from the project and then products and
unit prices from bench/floor.py alone. What each sandbox holds must be equal,
field for field, nested sell units included, and each import_esd body the
floor posts must be the project's byte for byte (a forwarding recorder in front
of each sandbox keeps what went over the wire); otherwise the floor's figures
would compare the project with a different, cheaper payload.
"""

from __future__ import annotations

import shutil
import threading
from collections import defaultdict
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from b2b_assets.defs.squizz.resources import SquizzResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.sandbox.serve import start_sandboxes
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.targets.squizz.import_types import import_type
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from bench import generate
from bench.floor import BATCH, OBJECTS, Floor, run

REFERENCED = ("taxcodes", "price_levels", "sell_units")  # what products and prices reference
FLOOR_OBJECTS = tuple(o.name for o in OBJECTS)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    generate.main(["--products", "300", "--prices", "1500", "--organizations", "10", "--locations", "10",
                   "--users", "10", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def staged_hub(export, tmp_path_factory) -> Path:
    """A hub with the export staged and nothing synced yet (each sandbox gets a copy, with its own ledger)."""
    work = tmp_path_factory.mktemp("hub")
    store = Store(f"sqlite:///{work / 'hub.sqlite'}")
    store.create_all()
    mapping = load_mapping(export / "mapping.yaml")
    for name in load_order(["taxcodes", "price_levels", "sell_units", "products", "product_sell_units",
                            "unit_prices"]):
        stage_entity(name, mapping, store, work / "staging", work / "reports", "floor-test")
        load_entity(store, work / "staging", name)
    store.dispose()
    return work / "hub.sqlite"


def squizz_sync(staged_hub: Path, copy: Path, base_url: str, names: tuple[str, ...]) -> None:
    shutil.copy(staged_hub, copy)
    store = Store(f"sqlite:///{copy}")
    resource = SquizzResource(base_url=f"{base_url}/squizz", org_id="sandbox-org", api_key="sandbox-key",
                              api_password="sandbox-password")
    sender = SQUIZZ.sender(resource)
    for name in names:
        report = sync_object(store, SQUIZZ, SQUIZZ.object(name), sender, OutboundOptions(batch_size=BATCH))
        assert report.counts["sent"] == report.counts["total"] > 0, name
    resource.client().close()
    store.dispose()


@contextmanager
def wire_recorder(upstream: str):
    """A server forwarding every request to `upstream`; `.bodies[type id]` holds the import_esd bodies it saw."""
    bodies: dict[int, list[bytes]] = defaultdict(list)
    http = requests.Session()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            if "/import_esd/" in url.path:
                bodies[int(parse_qs(url.query)["import_type_id"][0])].append(body)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            reply = http.request(self.command, upstream + self.path, data=body, headers=headers)
            self.send_response(reply.status_code)
            self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url, server.bodies = f"http://127.0.0.1:{server.server_address[1]}", bodies
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        http.close()


def landed(sandboxes, name: str) -> dict[str, dict]:
    spec = import_type(name)
    return {"\x1f".join(str(r[f]) for f in spec.key_fields): r for r in sandboxes.squizz.records(spec.type_id)}


def test_the_floor_lands_exactly_the_records_the_project_lands(export, staged_hub, tmp_path) -> None:
    with start_sandboxes() as by_project, start_sandboxes() as by_floor, \
            wire_recorder(by_project.base_url) as project_wire, wire_recorder(by_floor.base_url) as floor_wire:
        squizz_sync(staged_hub, tmp_path / "project.sqlite", project_wire.url, REFERENCED + FLOOR_OBJECTS)
        squizz_sync(staged_hub, tmp_path / "references.sqlite", by_floor.base_url, REFERENCED)
        floor = Floor(export / "inbox", tmp_path / "floor", f"{floor_wire.url}/squizz")
        rows: list[dict] = []
        try:
            run(floor, rows.append)
        finally:
            floor.close()
        for obj in OBJECTS:  # the same documents on the wire, gzip container included
            assert len(floor_wire.bodies[obj.type_id]) == 1, obj.name
            assert floor_wire.bodies[obj.type_id] == project_wire.bodies[obj.type_id], obj.name
        sent = {r["name"]: r["records"] for r in rows if r["stage"] == "send"}
        assert sent == {"products": 300, "price_level_unit_prices": 1500}
        for name in FLOOR_OBJECTS:
            project, floor_records = landed(by_project, name), landed(by_floor, name)
            assert len(project) == len(floor_records) > 0
            assert floor_records == project, name
        product = next(iter(landed(by_floor, "products").values()))
        assert len(product["sellUnits"]) == 3 and product["weight"] > 0  # nested and numeric fields really compared
