"""`b2b-sync`: run the full sync (or its dry run) from the command line, or open the UI over the same state.

With no vendor URLs configured, the bundled sandboxes are started on
127.0.0.1 with their sandbox credentials, so a fresh clone syncs with no
accounts. Dagster's run history goes to $DAGSTER_HOME (default .dagster_home
in the repository), so `b2b-sync dev` shows what `b2b-sync sync` ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack, nullcontext

import dagster as dg
import requests

from b2b_assets import settings

SANDBOX_CREDENTIALS = {"SQUIZZ_ORG_ID": "sandbox-org", "SQUIZZ_API_KEY": "sandbox-key",
                       "SQUIZZ_API_PASSWORD": "sandbox-password"}
SUMMARY_KEYS = {
    "erp": ("rows_read", "rows_valid", "rows_quarantined", "rows_refused", "rows_skipped"),
    "hub": ("rows_inserted", "rows_updated", "rows_unchanged", "rows_held", "rows_released"),
    "squizz": ("records_total", "records_new", "records_changed", "records_sent", "records_unchanged",
               "records_rejected", "records_held", "tokens_would_spend"),
}


def _uses_sandboxes() -> bool:
    return not (os.environ.get("SQUIZZ_API_URL") and os.environ.get("PARTNER_API_URL"))


def _sandbox_running() -> bool:
    try:
        return requests.get(f"{settings.SANDBOX_URL}/health", timeout=1).ok
    except requests.RequestException:
        return False


def _prepare_environment() -> None:
    home = os.environ.setdefault("DAGSTER_HOME", str(settings.REPO_ROOT / ".dagster_home"))
    os.makedirs(home, exist_ok=True)
    if not os.path.exists(os.path.join(home, "dagster.yaml")):
        shutil.copy(settings.REPO_ROOT / "dagster.yaml", os.path.join(home, "dagster.yaml"))
    if _uses_sandboxes():
        for name, value in SANDBOX_CREDENTIALS.items():
            os.environ.setdefault(name, value)


def _embedded_sandboxes():
    """Sandboxes in this process for the length of the run, unless something already serves them."""
    if not _uses_sandboxes() or _sandbox_running():
        return nullcontext()
    from b2b_assets.sandbox.serve import start_sandboxes

    return start_sandboxes(state_dir=settings.state_dir() / "sandbox", port=settings.SANDBOX_PORT)


def _run_config(dry_run: bool, full_refresh: bool) -> dict:
    from b2b_assets.targets.squizz.import_types import IMPORT_TYPES

    # The console shows warnings and failures; every event is still in the run's log in the UI.
    config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if dry_run or full_refresh:
        options = {"dry_run": dry_run, "full_refresh": full_refresh}
        config["ops"] = {f"squizz__{spec.name}": {"config": options} for spec in IMPORT_TYPES}
    return config


QUIET_WHEN_ZERO = ("tokens_would_spend", "rows_refused", "rows_skipped")


def print_summary(result: dg.ExecuteInProcessResult, not_mapped: list[str] = (), notes: list[str] = ()) -> None:
    """One line per asset (entities the mapping does not name left out), failed checks, totals, then notes."""
    totals = {area: {k: 0 for k in keys} for area, keys in SUMMARY_KEYS.items()}
    rows = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        area = materialization.asset_key.path[0]
        if area in ("erp", "hub") and materialization.asset_key.path[-1] in not_mapped:
            continue
        values = {k: v.value for k, v in materialization.metadata.items()}
        shown = [k for k in SUMMARY_KEYS.get(area, ()) if k in values and (values[k] or k not in QUIET_WHEN_ZERO)]
        rows.append(("/".join(materialization.asset_key.path),
                     "  ".join(f"{k.split('_', 1)[1]}={values[k]}" for k in shown)))
        for k in totals.get(area, {}):
            totals[area][k] += int(values.get(k) or 0)
    width = max((len(name) for name, _ in rows), default=10)
    print("\nPer-asset summary")
    for name, text in rows:
        print(f"  {name:<{width}}  {text}")
    failed = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and not e.event_specific_data.passed]
    if failed:
        print("\nChecks that did not pass")
        for evaluation in failed:
            count = evaluation.metadata.get("failure_count")
            print(f"  {'/'.join(evaluation.asset_key.path)} {evaluation.check_name}: "
                  f"{count.value if count else '?'} ({evaluation.severity.value})")
    hub, squizz, erp = totals["hub"], totals["squizz"], totals["erp"]
    print(f"\nInbound: {erp['rows_read']} rows read, {erp['rows_valid']} valid, "
          f"{erp['rows_quarantined']} quarantined, {erp['rows_refused']} refused (whole file), "
          f"{erp['rows_skipped']} skipped (mapping filter/dedupe) (reports under {settings.reports_dir()})")
    written = hub["rows_inserted"] + hub["rows_updated"]
    print(f"Hub: {written} records written ({hub['rows_inserted']} new, {hub['rows_updated']} updated), "
          f"{hub['rows_unchanged']} unchanged, {hub['rows_held']} held"
          + ("  - nothing new to write" if written == 0 else ""))
    if squizz["tokens_would_spend"]:
        print(f"SQUIZZ (dry run, nothing sent): would send {squizz['records_new']} new and "
              f"{squizz['records_changed']} changed records ({squizz['tokens_would_spend']} trading tokens), "
              f"{squizz['records_unchanged']} unchanged, {squizz['records_held']} held")
    else:
        print(f"SQUIZZ: {squizz['records_sent']} records sent ({squizz['records_sent']} trading tokens), "
              f"{squizz['records_unchanged']} unchanged, {squizz['records_rejected']} rejected, "
              f"{squizz['records_held']} held")
    if not_mapped:
        print(f"\nNote: not in the mapping, so not synced: {', '.join(not_mapped)}")
    for note in notes:
        print(f"Note: {note}")
    print(f"\nRun {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'}")


def check() -> int:
    """Validate the whole mapping (and open its files) without running anything."""
    from b2b_assets.sources.check import check_mapping

    result = check_mapping(settings.mapping_path())
    for note in result.notes:
        print(f"note: {note}")
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{settings.mapping_path().name}: {len(result.errors)} error(s)" if result.errors
          else f"{settings.mapping_path().name}: ok")
    return 0 if result.ok else 1


def preview(entity: str, rows: int) -> int:
    from b2b_assets.sources import load_mapping
    from b2b_assets.sources.preview import preview as build_preview, render

    print(render(build_preview(load_mapping(settings.mapping_path()), entity, rows)))
    return 0


def sync(dry_run: bool, full_refresh: bool) -> int:
    if check() != 0:  # one clean failure before any step starts, not the same error once per asset
        print("Run not started: fix the mapping first (b2b-sync check).", file=sys.stderr)
        return 1
    _prepare_environment()
    from b2b_assets.definitions import defs

    with ExitStack() as stack:
        stack.enter_context(_embedded_sandboxes())
        instance = stack.enter_context(dg.DagsterInstance.get())
        result = defs.resolve_job_def("full_sync").execute_in_process(
            instance=instance, run_config=_run_config(dry_run, full_refresh), raise_on_error=False)
    from b2b_assets.defs.coverage import hub_entities_no_target_reads
    from b2b_assets.sources import load_mapping

    mapping = load_mapping(settings.mapping_path())
    unread = [name for name in hub_entities_no_target_reads(defs) if name in mapping.sources]
    notes = [f"loaded into the hub but read by no target yet: {', '.join(unread)}"] if unread else []
    print_summary(result, mapping.not_mapped, notes)
    return 0 if result.success else 1


def dev() -> int:
    _prepare_environment()
    with ExitStack() as stack:
        if _uses_sandboxes() and not _sandbox_running():
            server = subprocess.Popen([sys.executable, "-m", "b2b_assets.sandbox.serve", "--port",
                                       str(settings.SANDBOX_PORT), "--state-dir", str(settings.state_dir() / "sandbox")])
            stack.callback(server.terminate)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(settings.REPO_ROOT / "workspace.yaml")]
        return subprocess.call(command, cwd=settings.REPO_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="b2b-sync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("sync", help="run the full sync job and print a per-asset summary")
    run.add_argument("--dry-run", action="store_true", help="load the hub, but only plan what targets would get")
    run.add_argument("--full-refresh", action="store_true", help="resend everything as COMPLETE uploads")
    commands.add_parser("dev", help="open the Dagster UI (and the sandboxes) over the same state")
    commands.add_parser("check", help="validate the mapping and its files; every problem once, with file and line")
    shown = commands.add_parser("preview", help="the first mapped rows of one entity, where each field comes from")
    shown.add_argument("entity")
    shown.add_argument("-n", "--rows", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "sync":
        return sync(args.dry_run, args.full_refresh)
    if args.command == "check":
        return check()
    if args.command == "preview":
        return preview(args.entity, args.rows)
    return dev()


if __name__ == "__main__":
    sys.exit(main())
