"""How runs share the machine and the vendors: the executor, the target pools and their limits."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from b2b_assets.definitions import defs
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.targets.registry import TARGETS

REPO = Path(__file__).resolve().parents[2]


def test_every_job_runs_its_steps_in_the_run_process_as_the_cli_does():
    """A process per step made a UI launch 12x slower than `b2b-sync sync` (README, UI launch speed)."""
    for job in ("full_sync", "__ASSET_JOB"):
        assert defs.resolve_job_def(job).executor_def is dg.in_process_executor, job


def test_each_target_syncs_in_a_pool_of_its_own():
    pools = {key: a.op.pool for a in defs.assets for key in a.keys}
    for target in TARGETS:
        for obj in target.objects:
            assert pools[object_key(target, obj.name)] == target.name
    assert {pools[key] for key in pools if key.path[0] in ("erp", "hub")} == {None}


@pytest.mark.parametrize("settings", ["dagster.yaml", "dagster.production.yaml"])
def test_a_pool_admits_one_step_at_a_time(settings, tmp_path, monkeypatch, request):
    """SQUIZZ answers BUSY to a second import of the same organisation: one step per pool, across runs."""
    if settings == "dagster.production.yaml":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("DAGSTER_PG_URL", url.replace("postgresql://", "postgresql+psycopg2://", 1))
    shutil.copy(REPO / settings, tmp_path / "dagster.yaml")
    pools = dg.DagsterInstance.from_config(str(tmp_path)).get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
