"""Who owns the assets, how fresh they must be, and when rejected or held records turn a check red.

Rejected records fail a target's checks at ERROR above the target's
`max_rejected` (`Target.max_rejected`, default 0: any rejected record), which
the environment (`B2B_<TARGET>_MAX_REJECTED`, e.g. B2B_SQUIZZ_MAX_REJECTED=5)
or a run's config (`max_rejected`) overrides. Held records fail them at WARN:
they land by themselves once the record they wait for does. The checks are not
blocking: a rejection at one target never stops another target's assets.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg

from b2b_assets.targets.core.contract import Target

# Owners of every asset, as Dagster writes them (team:<name> or an e-mail address), comma-separated.
OWNERS = tuple(o.strip() for o in os.environ.get("B2B_ASSET_OWNERS", "team:integrations").split(",") if o.strip())
# The nightly full sync (02:00) leaves a day plus two hours of slack before an asset counts as stale.
NIGHTLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
# A record held at a target for longer than this makes the target's sync-health check warn.
HELD_TOO_LONG_HOURS = float(os.environ.get("B2B_HELD_WARN_HOURS", "24"))


def max_rejected(target: Target, override: int | None = None) -> int:
    """How many rejected records a target's checks tolerate before they fail at ERROR."""
    if override is not None:
        return override
    variable = f"B2B_{target.name.upper()}_MAX_REJECTED"
    value = os.environ.get(variable)
    if not value:
        return target.max_rejected
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{variable}={value!r} is not a whole number of rejected records") from None


def rejected_severity(rejected: int, threshold: int) -> dg.AssetCheckSeverity:
    """ERROR when more records were rejected than the target tolerates, else WARN (held, or few rejected)."""
    return dg.AssetCheckSeverity.ERROR if rejected > threshold else dg.AssetCheckSeverity.WARN

