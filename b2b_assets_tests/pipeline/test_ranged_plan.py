"""SQUIZZ prices planned a key range of the hub at a time give the same plan as the whole entity at once.

Ranges of 37 hub rows cut the sample's 460 unit prices into 13 ranges; the plan, what is sent, what is
unchanged and what is gone from the source must not depend on where the cuts fall.
"""

from __future__ import annotations

import csv
import io

from b2b_assets.pipeline.outbound import OutboundOptions, sync_object
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ
from b2b_assets.targets.squizz.target import SquizzSender

from .test_squizz_sync import SPECS, Env, env, rewrite_csv_rows, sandbox_key, staged_template  # noqa: F401

PRICES = "price_level_unit_prices"
RANGES = OutboundOptions(batch_size=50, plan_range_rows=37)
WHOLE = OutboundOptions(batch_size=50, plan_range_rows=1_000_000)


def sync(env: Env, name: str, options: OutboundOptions):
    return sync_object(env.store, SQUIZZ, SQUIZZ.object(name), SquizzSender(env.client), options)


def dry(options: OutboundOptions) -> OutboundOptions:
    return OutboundOptions(batch_size=options.batch_size, plan_range_rows=options.plan_range_rows, dry_run=True)


def edit_prices(env: Env, *, bump: int = 0, drop: int = 0) -> None:
    """Raise the first `bump` prices of KT-10.. by 1.25 and leave out the `drop` rows after them."""
    def edit(_header: str, rows: list[str]) -> list[str]:
        out, bumped, dropped = [], 0, 0
        for row in rows:
            fields = next(csv.reader(io.StringIO(row)))
            if fields[0].startswith("KT-10") and fields[3].replace(".", "").isdigit():
                if bumped < bump:
                    fields[3], bumped = f"{float(fields[3]) + 1.25:.2f}", bumped + 1
                    row = ",".join(fields)
                elif dropped < drop:
                    dropped += 1
                    continue
            out.append(row)
        return out
    rewrite_csv_rows(env.inbox / "unit_prices.csv", edit)


def test_prices_planned_in_key_ranges_match_the_whole_entity(env: Env):
    for name in ("taxcodes", "sell_units", "price_levels", "products"):
        sync(env, name, WHOLE)
    assert SQUIZZ.object(PRICES).key_ranges

    ranged, whole = sync(env, PRICES, dry(RANGES)), sync(env, PRICES, dry(WHOLE))
    assert ranged.counts == whole.counts and ranged.counts["would_send"] > 400
    assert sorted(ranged.would_send) == sorted(whole.would_send)
    assert ranged.problems.sort_values("record_key").reset_index(drop=True).equals(
        whole.problems.sort_values("record_key").reset_index(drop=True))  # the same held and refused prices

    first = sync(env, PRICES, RANGES)
    c = first.counts
    sendable = c["total"] - c["held"] - c["invalid"]
    assert c["sent"] == sendable and len(env.ledger_keys(PRICES)) == sendable
    assert sync(env, PRICES, RANGES).counts["sent"] == 0  # nothing changed, nothing goes

    edit_prices(env, bump=3, drop=2)
    env.restage(("unit_prices",))
    delta = sync(env, PRICES, RANGES)
    assert delta.counts["changed"] == 3 and delta.counts["sent"] == 3
    assert delta.counts["deletions_pending"] == 2  # the two left out, not every price outside a range
    assert delta.counts["unchanged"] == sendable - 5
    keys = [sandbox_key(SPECS[PRICES], r) for r in env.records(PRICES)]
    assert len(keys) == len(set(keys)) == sendable
