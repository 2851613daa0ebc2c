"""`b2b-sync retry-failed`: run job `retry_failed` on the assets with failed records, and say what it resent.

The records to retry are read from the ledger before the run (rejected or
held, per target object); after it, the same keys are looked up again, so the
output is each record's state before and after, with the target's message
when it is still refused.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from b2b_assets.defs.ops.retry import only_failed_config
from b2b_assets.defs.targets.factory import object_key
from b2b_assets.ops_cli.failures import failure_lines
from b2b_assets.ops_cli.why import readable
from b2b_assets.store import Store
from b2b_assets.store import story
from b2b_assets.targets.core.contract import Target

SHOWN_PER_ASSET = 20  # records listed per asset; the counts cover all of them


def failed_selection(store: Store, targets: tuple[Target, ...]) -> list[dg.AssetKey]:
    """The outbound assets whose ledger holds rejected or held records, in the registry's order."""
    failed = story.failed_counts(store.engine)
    return [object_key(t, o.name) for t in targets for o in t.objects if failed.get((t.name, o.name))]


def run_config(targets: tuple[Target, ...], selection: list[dg.AssetKey], base: dict) -> dict:
    return {**base, **only_failed_config(targets, set(selection))}


def report(before: pd.DataFrame, after: pd.DataFrame, targets: tuple[Target, ...],
           result: dg.ExecuteInProcessResult) -> list[str]:
    """Per asset: how many records were retried and where each stands now."""
    prefixes = {t.name: t.key_prefix for t in targets}
    now = after.set_index(["target", "entity", "record_key"])
    lines = []
    for (target, entity), retried in before.groupby(["target", "entity"], sort=False):
        states = [now["state"].get((target, entity, key), "?") for key in retried["record_key"]]
        tally = pd.Series(states).value_counts()
        lines.append(f"{prefixes.get(target, target)}/{entity}: retried {len(retried)} "
                     f"({', '.join(f'{n} now {state}' for state, n in tally.items())})")
        for row, state in list(zip(retried.itertuples(index=False), states))[:SHOWN_PER_ASSET]:
            message = now["last_error"].get((target, entity, row.record_key)) if state != "sent" else None
            lines.append(f"  {readable(row.record_key)}: {row.state} -> {state}"
                         + (f": {message}" if isinstance(message, str) and message else ""))
        if len(retried) > SHOWN_PER_ASSET:
            lines.append(f"  ... and {len(retried) - SHOWN_PER_ASSET} more (`b2b-sync status`)")
    lines += failure_lines(result)
    lines.append(f"\nRun {result.run_id} (job retry_failed): {'SUCCESS' if result.success else 'FAILURE'}")
    return lines

