"""The inbox sensor starts one full sync per new export set, once its files have stopped changing, and only then."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from b2b_assets.defs.ops.sensors import inbox_sensor



@pytest.fixture
def inbox(sample_export) -> Path:
    return sample_export


def evaluate(instance, cursor: str | None):
    """One sensor evaluation, as the daemon does it: the cursor it leaves is the next evaluation's."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return inbox_sensor(context), context.cursor


def touch(path: Path, seconds: int = 1) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def test_one_run_per_export_set_after_it_settles_and_never_twice(inbox):
    with dg.instance_for_test() as instance:
        first, cursor = evaluate(instance, None)
        assert isinstance(first, dg.SkipReason) and "waiting" in first.skip_message  # seen once: not yet
        second, cursor = evaluate(instance, cursor)
        assert isinstance(second, dg.RunRequest)  # the same files on the next look: one run
        assert json.loads(cursor)["requested"] == second.run_key  # a structured cursor
        again = [evaluate(instance, cursor)[0] for _ in range(3)]
        assert all(isinstance(r, dg.SkipReason) and "no new or changed" in r.skip_message for r in again)

        touch(inbox / "products.jsonl")  # a new export of one file: a new set
        settling, cursor = evaluate(instance, cursor)
        assert isinstance(settling, dg.SkipReason)
        changed, cursor = evaluate(instance, cursor)
        assert isinstance(changed, dg.RunRequest) and changed.run_key != second.run_key
        assert isinstance(evaluate(instance, cursor)[0], dg.SkipReason)


def test_a_file_still_being_written_is_not_picked_up(inbox):
    products = inbox / "products.jsonl"
    lines = products.read_text().splitlines(keepends=True)
    products.write_text("".join(lines[:3]))  # the ERP has written the first rows only
    with dg.instance_for_test() as instance:
        results = []
        cursor = None
        for written in range(4, len(lines) + 1, max(1, len(lines) // 4)):
            result, cursor = evaluate(instance, cursor)
            results.append(result)
            products.write_text("".join(lines[:written]))  # it keeps growing between evaluations
        assert all(isinstance(r, dg.SkipReason) for r in results)
        products.write_text("".join(lines))
        touch(products)
        while_growing, cursor = evaluate(instance, cursor)
        assert isinstance(while_growing, dg.SkipReason)
        done, cursor = evaluate(instance, cursor)  # the writer has finished: unchanged since the last look
        assert isinstance(done, dg.RunRequest)


def test_no_run_without_an_export_file(inbox):
    shutil.rmtree(inbox)
    inbox.mkdir()
    with dg.instance_for_test() as instance:
        first, cursor = evaluate(instance, None)
        second, _ = evaluate(instance, cursor)
    assert isinstance(first, dg.SkipReason) and isinstance(second, dg.SkipReason)
    assert second.skip_message == "no export file in the inbox"


def test_a_cursor_from_an_earlier_version_is_replaced_not_fatal(inbox):
    with dg.instance_for_test() as instance:
        result, cursor = evaluate(instance, "products.jsonl:123:456,customers.txt:1:2")
        assert isinstance(result, dg.SkipReason) and json.loads(cursor)["settling"]


def test_sensor_does_not_start_a_run_on_a_mapping_with_errors_and_says_why(inbox):
    mapping = inbox.parent / "mapping.yaml"
    mapping.write_text(mapping.read_text().replace("organization_name: CustName", "organisation_name: CustName"))
    with dg.instance_for_test() as instance:
        _, cursor = evaluate(instance, None)
        skipped, cursor = evaluate(instance, cursor)
        assert isinstance(skipped, dg.SkipReason)
        assert "mapping has 1 error(s)" in skipped.skip_message and "organisation_name" in skipped.skip_message
        # The same broken set is reported once, not re-checked every minute.
        assert "no new or changed" in evaluate(instance, cursor)[0].skip_message
