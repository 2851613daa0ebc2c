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


def test_production_admits_one_step_per_pool_and_the_local_instance_no_limit(tmp_path, monkeypatch, postgres_url):
    """SQUIZZ answers BUSY to a second import of the same organisation: in production one step per pool,
    across runs. Locally no limit, so that a run killed with kill -9 cannot hold a slot its re-execution waits for
    (the run queue and the store's sync locks keep one sync at a time there)."""
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    limits = {}
    for settings in ("dagster.yaml", "dagster.production.yaml"):
        home = tmp_path / settings
        home.mkdir()
        shutil.copy(REPO / settings, home / "dagster.yaml")
        limits[settings] = dg.DagsterInstance.from_config(str(home)).get_concurrency_config().pool_config
    assert limits["dagster.production.yaml"].default_pool_limit == 1
    assert limits["dagster.yaml"].default_pool_limit is None
