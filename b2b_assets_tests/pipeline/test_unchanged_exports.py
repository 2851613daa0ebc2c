"""An export file unchanged since the hub loaded it is neither re-read nor re-loaded, and still tells the truth.

Real files (a copy of the bundled sample export), a real SQLite store, the real pipeline steps and,
for what a user sees in the UI and the CLI, the real Dagster assets.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from b2b_assets import cli
from b2b_assets.defs.erp.assets import erp_assets
from b2b_assets.defs.hub.assets import hub_assets
from b2b_assets.defs.resources import PartnerApiResource, StoreResource
from b2b_assets.model import load_order
from b2b_assets.pipeline.export_fingerprint import FingerprintWhileReading
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.staging import staged_export
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets_tests.test_full_sync import workspace  # noqa: F401 - a fixture: the sample export, private

REPO = Path(__file__).resolve().parents[2]
PRICES = ("taxcodes", "sell_units", "price_levels", "products", "unit_prices")  # unit prices and their parents
CUSTOMERS = ("price_levels", "sales_reps", "payment_types", "sites", "organizations", "locations")


class Export:
    """The sample export and a store, staged and loaded entity by entity as the sync's assets do."""

    def __init__(self, root: Path):
        shutil.copytree(REPO / "data" / "inbox", root / "inbox")
        shutil.copy(REPO / "data" / "mapping.yaml", root / "mapping.yaml")
        self.root = root
        self.store = Store(f"sqlite:///{root / 'hub.sqlite'}")
        self.store.create_all()

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def stage(self, name: str, run_id: str, reread: bool = False):
        mapping = load_mapping(self.root / "mapping.yaml")
        forced = {"reread": True} if reread else {}
        return stage_entity(name, mapping, self.store, self.staging, self.root / "reports", run_id, **forced)

    def load(self, name: str):
        return load_entity(self.store, self.staging, name)

    def sync(self, run_id: str, entities: tuple[str, ...] | None = None) -> dict:
        """{entity: (stage result, hub load)} for these (default: every mapped) entities, in load order."""
        names = load_order(list(entities or load_mapping(self.root / "mapping.yaml").sources))
        return {name: (self.stage(name, run_id), self.load(name)) for name in names}

    def staged_by(self, name: str) -> str:
        """The run whose read of the export is staged: who last read the file."""
        return staged_export(self.staging, name).run_id


@pytest.fixture
def export(tmp_path) -> Export:
    return Export(tmp_path)


def counts(result) -> tuple:
    return (result.rows_read, result.rows_valid, result.rows_quarantined, result.rows_refused, result.rows_skipped,
            result.look_alike_keys, result.source)


def test_a_second_run_over_the_same_inbox_reads_and_loads_nothing_and_reports_the_first_runs_counts(export):
    first = export.sync("run-1")
    second = export.sync("run-2")
    for name, (staged, load) in second.items():
        before, loaded_before = first[name]
        assert staged.unchanged == "unchanged since run run-1: not re-read", name
        assert counts(staged) == counts(before), name
        assert staged.warnings == before.warnings, name
        # Its bad rows are still bad: the same rows, fields and reasons as the run that read it.
        columns = ["source", "row_number", "field", "reason"]
        assert staged.issues[columns].equals(before.issues[columns].reset_index(drop=True)), name
        assert export.staged_by(name) == "run-1", name
        assert load.not_reloaded == "unchanged since run run-1: not re-loaded", name
        assert (load.inserted, load.updated, load.held) == (0, 0, loaded_before.held), name
        assert load.unchanged == loaded_before.inserted, name
        assert load.dangling == loaded_before.dangling, name
    assert second["unit_prices"][0].rows_quarantined > 0  # the sample has bad price rows; they stay reported
    assert second["unit_prices"][0].report_path == export.root / "reports" / "run-2" / "unit_prices.csv"
    assert second["unit_prices"][0].report_path.read_text().count("\n") > 1


def test_a_file_rewritten_with_other_content_is_read_again(export):
    export.sync("run-1", PRICES)
    prices = export.root / "inbox" / "unit_prices.csv"
    lines = prices.read_text(encoding="utf-8").splitlines(keepends=True)
    prices.write_text("".join(lines[:-1]), encoding="utf-8")  # the last price row is gone
    second = export.sync("run-2", PRICES)
    staged, load = second["unit_prices"]
    assert staged.unchanged is None and export.staged_by("unit_prices") == "run-2"
    assert load.not_reloaded is None and load.absent_from_export == 1
    assert second["products"][0].unchanged  # only the rewritten file is read


def test_identical_bytes_with_a_new_mtime_are_not_read_again(export):
    """The digest decides: the same bytes stage the same rows, whatever the file's time says."""
    export.sync("run-1", PRICES)
    products = export.root / "inbox" / "products.jsonl"
    products.write_bytes(products.read_bytes())
    later = products.stat().st_mtime_ns + 5_000_000_000
    os.utime(products, ns=(later, later))
    staged = export.stage("products", "run-2")
    assert staged.unchanged == "unchanged since run run-1: not re-read"
    assert export.staged_by("products") == "run-1"


def test_a_changed_mapping_entry_reads_the_file_again(export):
    export.sync("run-1", (*CUSTOMERS, "products"))
    mapping = yaml.safe_load((export.root / "mapping.yaml").read_text())
    mapping["sources"]["organizations"]["columns"]["alias"] = "CustName"
    (export.root / "mapping.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True))
    assert export.stage("organizations", "run-2").unchanged is None
    assert export.load("organizations").updated > 0  # the aliases changed in the hub
    assert export.stage("products", "run-2").unchanged  # its entry is the same


def test_reread_reads_an_unchanged_file_and_the_hub_loads_it_again(export):
    export.sync("run-1", PRICES)
    staged = export.stage("products", "run-2", reread=True)
    assert staged.unchanged is None and export.staged_by("products") == "run-2"
    load = export.load("products")
    assert load.not_reloaded is None and (load.inserted, load.updated) == (0, 0) and load.unchanged > 0
    assert export.stage("products", "run-3").unchanged == "unchanged since run run-2: not re-read"


def test_an_export_the_hub_did_not_finish_loading_is_read_again(export):
    """The fingerprint is only recorded once the hub load completed: staged but never loaded means read again."""
    export.sync("run-1", PRICES)
    prices = export.root / "inbox" / "unit_prices.csv"
    prices.write_text(prices.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert export.stage("unit_prices", "run-2").unchanged is None  # ... and run-2 stops before its hub load
    staged = export.stage("unit_prices", "run-3")
    assert staged.unchanged is None and export.staged_by("unit_prices") == "run-3"
    assert export.load("unit_prices").not_reloaded is None
    assert export.stage("unit_prices", "run-4").unchanged == "unchanged since run run-3: not re-read"


def test_held_records_of_an_unchanged_export_are_retried_when_their_parent_arrives(export):
    export.sync("run-1", CUSTOMERS)
    assert set(export.store.held.load("locations")["organization_number"]) == {"C-2099"}
    customers = export.root / "inbox" / "customers.txt"
    header = customers.read_text(encoding="utf-8").splitlines()[0].split("|")
    row = dict.fromkeys(header, "")
    row.update({header[0]: "C-2099", header[1]: "Late Arrival Traders"})
    with customers.open("a", encoding="utf-8") as out:
        out.write("|".join(row[name] for name in header) + "\n")
    second = export.sync("run-2", CUSTOMERS)
    assert second["organizations"][0].unchanged is None
    staged, load = second["locations"]
    assert staged.unchanged and load.not_reloaded  # locations.csv was not read again ...
    assert (load.released, load.inserted, load.held) == (2, 2, 0)  # ... yet its held records landed
    assert export.store.held.count("locations") == 0
    assert (export.store.hub.read_all("locations")["organization_number"] == "C-2099").sum() == 2


# ----------------------------------------------------------------------- what the UI and the CLI show


def inbound_sync(workspace: Path, instance: dg.DagsterInstance, entities: tuple[str, ...], reread: bool = False):
    """erp/ and hub/ assets of these entities; `reread` with the run config `b2b-sync sync --reread` passes."""
    assets = [a for a in (*erp_assets, *hub_assets) if a.key.path[-1] in entities]
    forced = cli._run_config(False, False, True)["ops"] if reread else {}
    ops = {op: config for op, config in forced.items() if op.split("__", 1)[-1] in entities}
    resources = {"store": StoreResource(url=f"sqlite:///{workspace / 'hub.sqlite'}"),
                 "partner_api": PartnerApiResource(base_url="http://127.0.0.1:9/partner")}  # the sample has no API
    return dg.materialize(assets, instance=instance, resources=resources, raise_on_error=False,
                          run_config={"ops": ops} if ops else None)


def materialized(result) -> dict[str, dict]:
    return {"/".join(e.asset_key.path): {k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {("/".join(e.event_specific_data.asset_key.path), e.event_specific_data.check_name): e.event_specific_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_the_assets_and_the_summary_say_unchanged_and_the_quarantine_check_still_fails(workspace, capsys):
    with dg.instance_for_test() as instance:
        first = inbound_sync(workspace, instance, (*PRICES, *CUSTOMERS))
        second = inbound_sync(workspace, instance, (*PRICES, *CUSTOMERS))
        forced = inbound_sync(workspace, instance, PRICES, reread=True)
    assert first.success and second.success and forced.success
    before, after = materialized(first), materialized(second)
    erp_prices, hub_prices = after["erp/unit_prices"], after["hub/unit_prices"]
    assert erp_prices["unchanged"] is True and erp_prices["unchanged_reason"] == (
        f"unchanged since run {first.run_id}: not re-read")
    for key in ("rows_read", "rows_valid", "rows_quarantined", "rows_refused", "dagster/row_count"):
        assert erp_prices[key] == before["erp/unit_prices"][key], key
    assert hub_prices["unchanged"] is True and hub_prices["rows_inserted"] == 0
    assert hub_prices["hub_rows"] == before["hub/unit_prices"]["hub_rows"]
    evaluated = checks(second)
    quarantine = evaluated[("erp/unit_prices", "no_quarantined_rows")]
    assert not quarantine.passed
    assert quarantine.metadata["failure_count"].value == erp_prices["rows_quarantined"] + erp_prices["rows_refused"] > 0
    assert evaluated[("erp/unit_prices", "staged_rows_valid")].passed
    held = evaluated[("hub/locations", "references_resolved")]
    assert not held.passed and held.metadata["held"].value == 2  # its held records are still held, and said so
    capsys.readouterr()
    cli.print_summary(second)
    summary = capsys.readouterr().out
    assert re.search(rf"erp/unit_prices +unchanged since run {first.run_id}: not re-read +\(read=461 ", summary)
    assert re.search(rf"hub/unit_prices +unchanged since run {first.run_id}: not re-loaded", summary)
    assert "not re-read (b2b-sync sync --reread reads them)" in summary
    assert "Inbound: 0 rows read" in summary
    # --reread (and --full-refresh) read every export again.
    assert not any(m.get("unchanged") for m in materialized(forced).values())
    assert materialized(forced)["erp/unit_prices"]["rows_read"] == before["erp/unit_prices"]["rows_read"]


def test_a_file_replaced_while_it_is_read_leaves_no_fingerprint_so_the_next_run_reads_it(export):
    """A changed export is hashed while it is read; if a file changes meanwhile, the hash may be of bytes the
    read did not see, so none is left to say the hub holds them."""
    source = load_mapping(export.root / "mapping.yaml").source("unit_prices")
    prices = export.root / "inbox" / "unit_prices.csv"
    hashing = FingerprintWhileReading(source, load_mapping(export.root / "mapping.yaml").settings)
    prices.write_text(prices.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    later = prices.stat().st_mtime_ns + 5_000_000_000
    os.utime(prices, ns=(later, later))
    assert hashing.result() is None
    undisturbed = FingerprintWhileReading(source, load_mapping(export.root / "mapping.yaml").settings).result()
    assert undisturbed is not None and [f.path for f in undisturbed.files] == [str(prices)]
