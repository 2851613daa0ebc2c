"""When the syncs run on their own: nightly in full, every quarter hour in business hours for stock and prices.

Every schedule runs in one explicit time zone, `B2B_SCHEDULE_TIMEZONE` (an IANA
name such as `Europe/Amsterdam`; default UTC), so "02:00" and "business hours"
mean the business's own clock, summer time included. All are off by default:
turn them on in the UI (Automation) or with `dagster schedule start`.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from b2b_assets.defs.ops.jobs import full_sync, stock_and_prices


def schedule_timezone() -> str:
    name = os.environ.get("B2B_SCHEDULE_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"B2B_SCHEDULE_TIMEZONE={name!r} is not an IANA time zone (e.g. UTC, Europe/Amsterdam)") \
            from None
    return name


# 02:00: after the ERP's end-of-day export, before the working day; the full sync sends only what changed.
nightly_full_sync = dg.ScheduleDefinition(
    name="nightly_full_sync", job=full_sync, cron_schedule="0 2 * * *",
    execution_timezone=schedule_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)

# Every 15 minutes from 07:00 to 19:45, Monday to Saturday: stock is what buyers act on during the day, and
# SQUIZZ recommends its lightweight stock import for frequent updates. Trading tokens are charged per record
# imported, and only changed records are sent, so a quarter hour costs what changed in it; outside these
# hours the nightly sync catches up. One sync at a time (the run queue's b2b_assets/sync limit), so a light
# run that overlaps another sync waits instead of racing it.
stock_and_prices_quarter_hourly = dg.ScheduleDefinition(
    name="stock_and_prices_quarter_hourly", job=stock_and_prices, cron_schedule="*/15 7-19 * * 1-6",
    execution_timezone=schedule_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)
