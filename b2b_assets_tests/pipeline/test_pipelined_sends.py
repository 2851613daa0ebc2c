"""Pipelined SQUIZZ sends over real HTTP: a failure mid-stream leaves the ledger holding exactly what landed.

While one document is in flight the next is being built, so when the platform fails a request the
ledger must hold the batches before it, nothing of the failed one, and nothing of the one being
prepared; the next run sends the rest, each record once. The fault is injected through the sandbox's
admin API (`faults`, a scripted sequence): a 501 is not a transient status, so the client does not
retry it and the run stops there.
"""

from __future__ import annotations

from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.targets.squizz.errors import SquizzFatalError
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender

from .test_squizz_sync import SPECS, Env, env, sandbox_key, staged_template  # noqa: F401 - fixtures

BATCH = 40
LANDED = 3  # documents the platform takes before the failing one
PRICES = "price_level_unit_prices"


def sync(env: Env, name: str, progress: list | None = None):
    return sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client),
                       OutboundOptions(batch_size=BATCH), on_progress=None if progress is None else progress.append)


def test_a_failure_mid_stream_keeps_exactly_the_confirmed_batches_and_the_rerun_sends_the_rest_once(env: Env):
    for name in ("taxcodes", "sell_units", "price_levels", "products"):  # what prices reference
        sync(env, name)
    env.post_admin("faults", {"sequence": ["ok"] * LANDED + ["501"], "apply_to": ["import_esd"]})
    progress: list[dict] = []
    try:
        sync(env, PRICES, progress)
        raise AssertionError("the 501 should have stopped the sync")
    except SquizzFatalError as stopped:
        assert stopped.code == "HTTP_501"

    confirmed = env.ledger_keys(PRICES)
    assert len(confirmed) == LANDED * BATCH  # the failed batch and the one being built are not in it
    assert set(env.active_keys(PRICES)) == confirmed  # and SQUIZZ holds exactly what the ledger says
    # Told once before the first batch (0 sent of the total), then once per confirmed batch.
    assert [p["sent"] for p in progress] == [BATCH * i for i in range(LANDED + 1)]

    env.post_admin("faults", {})
    rerun = sync(env, PRICES)
    stats = env.stats()
    keys = [sandbox_key(SPECS[PRICES], r) for r in env.records(PRICES)]
    c = rerun.counts
    sendable = c["total"] - c["held"] - c["invalid"]  # the sample has prices SQUIZZ's limits refuse
    assert c["unchanged"] == LANDED * BATCH and c["sent"] == sendable - LANDED * BATCH
    assert len(keys) == len(set(keys)) == sendable
    imported = sum(i["records"] for i in stats["imports"] if i["import_type_id"] == SPECS[PRICES].type_id)
    assert imported == sendable  # every price imported exactly once over both runs
