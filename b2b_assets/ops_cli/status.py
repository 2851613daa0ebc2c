"""`b2b-sync status`: the ledger's view of every registered target object, and the hub's of every entity.

Like `dlt pipeline info`: what each target has acknowledged (sent), refused
(rejected), is waiting for a reference (held), has in open jobs (submitted) or
removed (deleted), with attempts and the last attempt; and per entity the
hub's records, the records it holds back and the latest run's quarantine.
Every number is a GROUP BY in the store (`store/story.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from rich.console import Console
from rich.table import Table

from b2b_assets.store import Store
from b2b_assets.store import story
from b2b_assets.targets.core.contract import LEDGER_STATES, LedgerState, Target

STATE_COLUMNS = tuple(LEDGER_STATES)


@dataclass
class Status:
    targets: pd.DataFrame  # target, object, one column per ledger state, jobs, attempts, last_attempt_at, ...
    hub: pd.DataFrame  # entity, records, not_in_source, held, oldest_held_at, quarantined_rows
    quarantine_run: str | None

    @property
    def failed(self) -> int:
        return int(self.targets[LedgerState.REJECTED.value].sum() + self.targets[LedgerState.HELD.value].sum())


def build_status(store: Store, targets: tuple[Target, ...]) -> Status:
    ledger = story.ledger_summary(store.engine)
    rows = []
    for target in targets:
        for obj in target.objects:
            mine = ledger[(ledger["target"] == target.name) & (ledger["entity"] == obj.name)]
            by_state = mine.set_index("state")
            held = by_state["most_attempts"].get(LedgerState.HELD.value)
            rows.append({
                "target": target.name, "object": obj.name,
                **{state: int(by_state["records"].get(state, 0)) for state in STATE_COLUMNS},
                "open_jobs": int(by_state["jobs"].get(LedgerState.SUBMITTED.value, 0)),
                "attempts": int(mine["attempts"].sum()),
                "last_attempt_at": mine["last_attempt_at"].max() if len(mine) else None,
                "held_runs": int(held) if held is not None and not pd.isna(held) else 0,
            })
    hub = story.hub_summary(store.engine)
    held = story.held_summary(store.engine).set_index("entity")
    run_id, quarantined = story.latest_quarantine(store.engine)
    quarantined = quarantined.set_index("entity")
    hub["held"] = hub["entity"].map(held["held"]).fillna(0).astype(int)
    hub["oldest_held_at"] = hub["entity"].map(held["oldest_held_at"])
    hub["quarantined_rows"] = hub["entity"].map(quarantined["rows"]).fillna(0).astype(int)
    return Status(pd.DataFrame(rows), hub, run_id)


def render(status: Status, console: Console) -> None:
    now = datetime.now(timezone.utc)
    table = Table(title="Targets: what the sync ledger holds", title_justify="left")
    for name in ("target", "object", *STATE_COLUMNS, "open jobs", "attempts", "last attempt", "held for"):
        table.add_column(name, justify="left" if name in ("target", "object", "last attempt") else "right")
    for row in status.targets.itertuples(index=False):
        table.add_row(row.target, row.object, *(_count(getattr(row, s)) for s in STATE_COLUMNS),
                      _count(row.open_jobs), _count(row.attempts), _when(row.last_attempt_at, now),
                      f"{row.held_runs} run{'s' if row.held_runs > 1 else ''}" if row.held_runs else "")
    console.print(table)

    hub = Table(title="Hub: records per entity", title_justify="left")
    for name in ("entity", "records", "not in latest export", "held back", "oldest held", "quarantined rows"):
        hub.add_column(name, justify="left" if name in ("entity", "oldest held") else "right")
    for row in status.hub.itertuples(index=False):
        hub.add_row(row.entity, _count(row.records), _count(row.not_in_source), _count(row.held),
                    _age(row.oldest_held_at, now), _count(row.quarantined_rows))
    console.print(hub)
    if status.quarantine_run:
        console.print(f"Quarantined rows are those of run {status.quarantine_run}, the latest that quarantined any.")
    if status.failed:
        console.print(f"{status.failed} records are rejected or held at a target: `b2b-sync retry-failed` resends "
                      "them; `b2b-sync why KEY` tells one record's story.")


def _count(value: int) -> str:
    return f"{int(value):,}" if value else "-"


def _utc(value) -> datetime | None:  # noqa: ANN001 - a datetime or pandas' NaT/None
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _when(value, now: datetime) -> str:  # noqa: ANN001
    stamp = _utc(value)
    return "" if stamp is None else f"{stamp:%Y-%m-%d %H:%M} UTC ({_ago(now - stamp)})"


def _age(value, now: datetime) -> str:  # noqa: ANN001
    stamp = _utc(value)
    return "" if stamp is None else f"{_ago(now - stamp)} (since {stamp:%Y-%m-%d %H:%M} UTC)"


def _ago(delta) -> str:  # noqa: ANN001 - a timedelta
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"

