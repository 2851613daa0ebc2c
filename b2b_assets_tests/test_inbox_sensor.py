"""The inbox sensor starts a full sync when an export file is new or changed, and only then."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from b2b_assets.defs.ops.jobs import inbox_sensor

REPO = Path(__file__).resolve().parent.parent


def test_sensor_requests_a_run_for_new_or_changed_exports_only(tmp_path, monkeypatch):
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "mapping.yaml")
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    with dg.instance_for_test() as instance:
        first = inbox_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(first, dg.RunRequest)
        cursor = first.run_key

        unchanged = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(unchanged, dg.SkipReason)

        products = tmp_path / "inbox" / "products.jsonl"
        stat = products.stat()
        os.utime(products, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        changed = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(changed, dg.RunRequest) and changed.run_key != cursor


def test_sensor_does_not_start_a_run_on_a_mapping_with_errors_and_says_why(tmp_path, monkeypatch):
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "inbox")
    text = (REPO / "data" / "mapping.yaml").read_text().replace("organization_name: CustName", "organisation_name: CustName")
    (tmp_path / "mapping.yaml").write_text(text)
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    with dg.instance_for_test() as instance:
        skipped = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason)
    assert "mapping has 1 error(s)" in skipped.skip_message and "organisation_name" in skipped.skip_message
