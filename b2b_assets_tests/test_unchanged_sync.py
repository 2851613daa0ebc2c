"""`make sync` twice on the sample export: the second run re-plans only the objects whose records wait.

Through Dagster, every registered target, real sandboxes: the unchanged objects say in their metadata
and in the run's summary that they were not re-planned; the held product and the refused zero price are reported again, as the
first run reported them, and the run's checks still pass.
"""

from __future__ import annotations

import dagster as dg

from b2b_assets.cli import print_summary
from b2b_assets_tests.test_full_sync import metadata_by_asset, run_sync, sandboxes, workspace  # noqa: F401

WAITING_KEYS = ("records_held", "records_rejected", "nested_held")


def test_a_second_sync_reports_unchanged_objects_as_not_replanned_and_the_waiting_ones_again(
        workspace, sandboxes, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    with dg.instance_for_test() as instance:
        first = run_sync(url, sandboxes, instance)
        second = run_sync(url, sandboxes, instance)
    assert first.success and second.success
    before, after = metadata_by_asset(first), metadata_by_asset(second)
    outbound = [key for key, values in before.items() if "records_total" in values]
    assert "squizz/products" in outbound and "norce/customers" in outbound
    waits = {key for key in outbound if any(before[key][k] for k in WAITING_KEYS)}
    assert {"squizz/products", "squizz/price_level_quantity_prices"} <= waits
    for key in outbound:
        assert after[key]["records_sent"] == 0, key
        assert after[key]["records_total"] == before[key]["records_total"], key
        if key in waits:
            assert "not_replanned" not in after[key], key
            assert [after[key][k] for k in WAITING_KEYS] == [before[key][k] for k in WAITING_KEYS], key
        else:
            assert after[key]["not_replanned"] == f"inputs unchanged since run {first.run_id}: not re-planned", key
            assert after[key]["records_unchanged"] == before[key]["records_total"], key
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed for c in second.get_asset_check_evaluations()}
    assert checks == {(c.asset_key.to_user_string(), c.check_name): c.passed
                      for c in first.get_asset_check_evaluations()}

    print_summary(second)
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    for key in outbound:
        assert ("(inputs unchanged: not re-planned)" in lines[key]) is (key not in waits), lines[key]
