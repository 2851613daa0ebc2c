"""`b2b-sync`: run the full sync (or its dry run) from the command line, or open the UI over the same state.

Each vendor URL that is not set (or is the bundled sandbox's own URL) is
served by the bundled sandboxes on 127.0.0.1, with their sandbox credentials,
so a fresh clone syncs with no accounts. Any other URL is a real endpoint: its
credentials must come from the environment, and the CLI stops before the run
naming any that are missing; sandbox credentials never go to it. Dagster's run
history goes to $DAGSTER_HOME (default .dagster_home in the repository), so
`b2b-sync dev` shows what `b2b-sync sync` ran.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field

import dagster as dg
import requests
from dotenv import load_dotenv

from b2b_assets import settings
from b2b_assets.ops_cli.console import one_line_console
from b2b_assets.ops_cli.failures import failure_lines


@dataclass(frozen=True)
class Endpoint:
    """A vendor API the sync talks to, and what it needs when it is not the bundled sandbox."""

    sandbox: str  # the sandbox's path prefix
    url_variable: str
    credentials: dict[str, str] = field(default_factory=dict)  # variable -> the sandbox's own value

    def url(self) -> str:
        return os.environ.get(self.url_variable) or f"{settings.SANDBOX_URL}/{self.sandbox}"

    def is_bundled_sandbox(self) -> bool:
        return self.url().rstrip("/") == f"{settings.SANDBOX_URL}/{self.sandbox}"


SANDBOX_START_WAIT_SECONDS = float(os.environ.get("B2B_SANDBOX_WAIT_SECONDS", "15"))
INBOUND_KEYS = {
    "erp": ("rows_read", "rows_valid", "rows_quarantined", "rows_refused", "rows_skipped"),
    "hub": ("rows_inserted", "rows_updated", "rows_unchanged", "rows_held", "rows_released"),
}
# Shown per outbound asset (zeros of the optional ones left out) and summed per target.
TARGET_KEYS = ("records_total", "records_new", "records_changed", "records_sent", "records_unchanged",
               "records_rejected", "records_held", "records_submitted", "records_would_send",
               "records_would_deactivate", "records_deactivated", "cost_spent", "cost_would_spend")
SHOWN_TARGET_KEYS = TARGET_KEYS[:-2]
OPTIONAL_KEYS = {"records_submitted", "records_would_send", "records_would_deactivate", "records_deactivated",
                 "rows_refused", "rows_skipped"}


def _targets():
    from b2b_assets.targets.registry import TARGETS

    return TARGETS


def _endpoints() -> tuple[Endpoint, ...]:
    """Every vendor API of the registered targets, each served under its name by the bundled sandbox."""
    targets = tuple(Endpoint(t.name, t.url_environment, dict(t.sandbox_environment))
                    for t in _targets() if t.url_environment)
    return (*targets, Endpoint("partner", "PARTNER_API_URL"))  # its token is optional: a partner API may be open


def _uses_sandboxes() -> bool:
    return any(endpoint.is_bundled_sandbox() for endpoint in _endpoints())


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
    missing: list[str] = []
    for endpoint in _endpoints():
        if endpoint.is_bundled_sandbox():
            for name, value in endpoint.credentials.items():
                os.environ.setdefault(name, value)
        else:
            lacking = [name for name in endpoint.credentials if not os.environ.get(name)]
            if lacking:
                missing.append(f"{endpoint.url_variable} is {endpoint.url()}, not the bundled sandbox, so its "
                               f"credentials must come from the environment: set {', '.join(lacking)}")
    if missing:
        raise SystemExit("b2b-sync: " + "\nb2b-sync: ".join(missing))


def _port_free() -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the sandbox server binds
        try:
            probe.bind(("127.0.0.1", settings.SANDBOX_PORT))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            return False
    return True


def _sandbox_already_served() -> bool:
    """True when a sandbox answers on the port, False when the port is free for ours; else a clear exit.

    Something that holds the port without answering /health may be a sandbox still starting, so it
    gets a bounded wait before the CLI gives up.
    """
    deadline = time.monotonic() + SANDBOX_START_WAIT_SECONDS
    while True:
        if _sandbox_running():
            return True
        if _port_free():
            return False
        if time.monotonic() >= deadline:
            raise SystemExit(f"b2b-sync: port {settings.SANDBOX_PORT} is in use, and nothing there answered "
                             f"{settings.SANDBOX_URL}/health within {SANDBOX_START_WAIT_SECONDS:.0f}s. Stop what "
                             "listens there, or set B2B_SANDBOX_PORT to a free port.")
        time.sleep(0.5)


def _embedded_sandboxes():
    """Sandboxes in this process for the length of the run, unless something already serves them."""
    if not _uses_sandboxes() or _sandbox_already_served():
        return nullcontext()
    from b2b_assets.sandbox.serve import start_sandboxes

    try:
        return start_sandboxes(state_dir=settings.state_dir() / "sandbox", port=settings.SANDBOX_PORT,
                               ftp_port=settings.SANDBOX_FTP_PORT)
    except OSError as exc:
        # Another b2b-sync bound the port between our look and our bind: use its sandboxes once they answer.
        if exc.errno == errno.EADDRINUSE and _sandbox_already_served():
            return nullcontext()
        raise


def _run_config(dry_run: bool, full_refresh: bool, reread: bool = False) -> dict:
    from b2b_assets.defs.erp.assets import erp_key
    from b2b_assets.defs.ops.plan import OP_PREFIX
    from b2b_assets.defs.targets.factory import op_name
    from b2b_assets.model import ENTITIES

    # The console shows warnings and failures; every event is still in the run's log in the UI.
    config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if full_refresh:  # the plan job's ops take the assets' config
        prefix = OP_PREFIX if dry_run else ""
        config["ops"] = {prefix + op_name(t, obj): {"config": {"full_refresh": True}}
                         for t in _targets() for obj in t.objects}
    if (reread or full_refresh) and not dry_run:  # a dry run reads every export anyway, into its own staging
        config.setdefault("ops", {}).update({erp_key(e.name).to_python_identifier(): {"config": {"reread": True}}
                                             for e in ENTITIES})
    return config


def _asset_metadata(result: dg.ExecuteInProcessResult) -> list[tuple[str, dict, bool]]:
    """(asset key, metadata values, failed) for every asset materialized, and every failed outbound asset that
    reported what the target had confirmed before it failed (an observation)."""
    found = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            data, failed = event.step_materialization_data.materialization, False
        elif event.event_type_value == "ASSET_OBSERVATION":
            data = event.event_specific_data.asset_observation
            failed = "failed" in data.metadata
        else:
            continue
        found.append(("/".join(data.asset_key.path), {k: v.value for k, v in data.metadata.items()}, failed))
    return found


def print_summary(result: dg.ExecuteInProcessResult, not_mapped: list[str] = (), notes: list[str] = ()) -> None:
    """One line per asset (entities the mapping does not name left out), failed checks, totals, then notes."""
    targets = {t.name: t for t in _targets()}
    # Asset key -> the target it belongs to (two targets may share a prefix: joor/connections, joor/customer_sync_file).
    owners = {f"{t.key_prefix}/{o.name}": t.name for t in targets.values() for o in t.objects}
    totals = {area: dict.fromkeys(keys, 0) for area, keys in INBOUND_KEYS.items()}
    totals.update({name: dict.fromkeys(TARGET_KEYS, 0) for name in targets})
    failed_targets: set[str] = set()
    unchanged: list[str] = []  # entities whose export the run found unchanged: their counts are an earlier run's
    rows = []
    for name, values, failed in _asset_metadata(result):
        area, entity = name.split("/", 1)
        if area in INBOUND_KEYS and entity in not_mapped:
            continue
        area = owners.get(name, area)
        keys = INBOUND_KEYS.get(area, SHOWN_TARGET_KEYS if area in targets else ())
        shown = [k for k in keys if k in values and (values[k] or k not in OPTIONAL_KEYS)]
        text = "  ".join(f"{k.split('_', 1)[1]}={values[k]}" for k in shown)
        if values.get("unchanged"):
            text = f"{values['unchanged_reason']}  ({text})"
        if values.get("not_replanned"):
            text += "  (inputs unchanged: not re-planned)"
        rows.append((name, text + ("  (failed; confirmed before the failure)" if failed else "")))
        if failed:
            failed_targets.add(area)
        if area == "erp" and values.get("unchanged"):
            unchanged.append(entity)
            continue
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
    dry_run = result.dagster_run.tags.get("b2b_assets/dry_run") == "true"
    hub, erp = totals["hub"], totals["erp"]
    print(f"\nInbound: {erp['rows_read']} rows read, {erp['rows_valid']} valid, "
          f"{erp['rows_quarantined']} quarantined, {erp['rows_refused']} refused (whole file), "
          f"{erp['rows_skipped']} skipped (mapping filter/dedupe) (reports under {settings.reports_dir()})")
    if unchanged:
        print(f"Inbound: {len(unchanged)} export(s) unchanged since the hub loaded them, not re-read "
              f"(b2b-sync sync --reread reads them): {', '.join(unchanged)}")
    written = hub["rows_inserted"] + hub["rows_updated"]
    print(f"Hub{' (dry run, nothing written): would write' if dry_run else ':'} {written} records "
          f"{'' if dry_run else 'written '}({hub['rows_inserted']} new, {hub['rows_updated']} updated), "
          f"{hub['rows_unchanged']} unchanged, {hub['rows_held']} held"
          + ("  - nothing new to write" if written == 0 else ""))
    for name, target in targets.items():
        print(target_line(target.title, target.cost_unit, totals[name], name in failed_targets))
    if not_mapped:
        print(f"\nNote: not in the mapping, so not synced: {', '.join(not_mapped)}")
    for note in notes:
        print(f"Note: {note}")
    for line in failure_lines(result):
        print(line)
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


def target_line(title: str, unit: str, t: dict[str, int], failed: bool) -> str:
    """One target's totals. A dry run is recognised by what it would send (a real run reports no such key)."""
    if t["records_would_send"] or t["cost_would_spend"] or t["records_would_deactivate"]:
        line = (f"{title} (dry run, nothing sent): would send {t['records_new']} new and {t['records_changed']} "
                f"changed records ({t['cost_would_spend']} {unit}), {t['records_unchanged']} unchanged, "
                f"{t['records_held']} held")
        if t["records_would_deactivate"]:
            line += f", {t['records_would_deactivate']} would be deactivated by the full refresh"
        return line
    cost = "" if unit == "records" else f" ({t['cost_spent']} {unit})"  # a per-record cost says nothing new
    line = (f"{title}: {t['records_sent']} records sent{cost}, {t['records_unchanged']} "
            f"unchanged, {t['records_rejected']} rejected, {t['records_held']} held")
    if t["records_submitted"]:
        line += f", {t['records_submitted']} in jobs the target has not finished"
    if t["records_deactivated"]:
        line += f", {t['records_deactivated']} deactivated by the full refresh"
    if failed:
        line += "  - some assets failed; the counts include what the target confirmed before they did"
    return line


def sync(dry_run: bool, full_refresh: bool, reread: bool = False) -> int:
    if check() != 0:  # one clean failure before any step starts, not the same error once per asset
        print("Run not started: fix the mapping first (b2b-sync check).", file=sys.stderr)
        return 1
    _prepare_environment()
    from b2b_assets.definitions import defs

    from b2b_assets.cli_progress import progress_bars

    with ExitStack() as stack:
        stack.enter_context(_embedded_sandboxes())
        stack.enter_context(progress_bars())  # on a terminal: a bar per asset while it sends
        instance = stack.enter_context(dg.DagsterInstance.get())
        job = defs.resolve_job_def("plan" if dry_run else "full_sync").with_logger_defs(
            {"console": one_line_console})
        result = job.execute_in_process(
            instance=instance, run_config=_run_config(dry_run, full_refresh, reread), raise_on_error=False)
    from b2b_assets.defs.coverage import hub_entities_no_target_reads
    from b2b_assets.sources import load_mapping

    mapping = load_mapping(settings.mapping_path())
    unread = [name for name in hub_entities_no_target_reads(defs) if name in mapping.sources]
    notes = [f"loaded into the hub but read by no target yet: {', '.join(unread)}"] if unread else []
    print_summary(result, mapping.not_mapped, notes)
    if dry_run:
        print_plan(result)
    if not result.success:
        return 1
    if dry_run:
        return 0
    from b2b_assets.defs.health.run_report import print_failed_error_checks

    return print_failed_error_checks(result)  # 2 when a check failed at ERROR (a target rejected records)


def retry_failed() -> int:
    """Resend only the rejected and held records (job retry_failed), then print each one's state now."""
    _prepare_environment()
    from b2b_assets.definitions import defs
    from b2b_assets.ops_cli import open_store, retry
    from b2b_assets.store import story

    store = open_store()
    selection = retry.failed_selection(store, _targets())
    if not selection:
        print("Nothing to retry: no record is rejected or held at any target (see b2b-sync status).")
        return 0
    before = story.failed_records(store.engine)
    with ExitStack() as stack:
        stack.enter_context(_embedded_sandboxes())
        instance = stack.enter_context(dg.DagsterInstance.get())
        job = defs.resolve_job_def("retry_failed").with_logger_defs({"console": one_line_console})
        result = job.execute_in_process(instance=instance, asset_selection=selection, raise_on_error=False,
                                        run_config=retry.run_config(_targets(), selection, _run_config(False, False)))
    print("\n".join(retry.report(before, story.ledger_rows(store.engine, before["record_key"]), _targets(), result)))
    return 0 if result.success else 1


def ping() -> int:
    """Each target's cheapest authenticated call; exit 1 when any target refuses its credentials."""
    _prepare_environment()
    from b2b_assets.ops_cli.ping import ping as ask, render

    with _embedded_sandboxes():
        answers = ask(_targets())
    print("\n".join(render(answers)))
    return 1 if any(a.ok is False for a in answers) else 0


def status() -> int:
    from b2b_assets.ops_cli import open_store, terminal
    from b2b_assets.ops_cli.status import build_status, render

    render(build_status(open_store(), _targets()), terminal())
    return 0


def why(key: str, entity: str | None) -> int:
    from b2b_assets.ops_cli import open_store
    from b2b_assets.ops_cli.why import render, tell
    from b2b_assets.sources import load_mapping

    found = tell(open_store(), load_mapping(settings.mapping_path()), _targets(), key, entity)
    print("\n".join(render(found)))
    return 0 if found.found else 1


def print_plan(result: dg.ExecuteInProcessResult) -> None:
    """The dry run's plan per target object, and where it put the record keys it would send."""
    from b2b_assets.defs.ops.plan import plan_rows, render_plan
    from b2b_assets.pipeline.dry_run import dry_run_directory

    rows = plan_rows([e.event_specific_data.asset_observation for e in result.all_events
                      if e.event_type_value == "ASSET_OBSERVATION"])
    print(f"\nPlan (nothing was written; the record keys each object would send are under "
          f"{dry_run_directory(settings.state_dir(), result.run_id) / 'keys'})")
    print(render_plan(rows))


def dev(port: int) -> int:
    # What `dagster dev` would load from .env must count before the sandbox-or-real decision, so that
    # sandbox credentials never go to a real endpoint named only in .env.
    load_dotenv(settings.REPO_ROOT / ".env", override=True)
    _prepare_environment()
    with ExitStack() as stack:
        if _uses_sandboxes() and not _sandbox_already_served():
            server = subprocess.Popen([sys.executable, "-m", "b2b_assets.sandbox.serve", "--port",
                                       str(settings.SANDBOX_PORT), "--ftp-port", str(settings.SANDBOX_FTP_PORT), "--state-dir", str(settings.state_dir() / "sandbox")])
            stack.callback(server.terminate)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(settings.REPO_ROOT / "workspace.yaml"),
                   "--port", str(port)]
        return subprocess.call(command, cwd=settings.REPO_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="b2b-sync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("sync", help="run the full sync job and print a per-asset summary")
    run.add_argument("--dry-run", action="store_true",
                     help="run the plan job: what the sync would load and send, with nothing written or sent")
    run.add_argument("--full-refresh", action="store_true",
                     help="re-read every export and resend everything as COMPLETE uploads")
    run.add_argument("--reread", action="store_true",
                     help="read every export file, even one unchanged since the hub loaded it")
    ui = commands.add_parser("dev", help="open the Dagster UI (and the sandboxes) over the same state")
    ui.add_argument("--port", type=int, default=3000, help="the UI's port on 127.0.0.1 (default 3000)")
    commands.add_parser("check", help="validate the mapping and its files; every problem once, with file and line")
    shown = commands.add_parser("preview", help="the first mapped rows of one entity, where each field comes from")
    shown.add_argument("entity")
    shown.add_argument("-n", "--rows", type=int, default=10)
    commands.add_parser("retry-failed", help="resend only the records the ledger holds as rejected or held")
    commands.add_parser("ping", help="check each target's credentials with its cheapest authenticated call")
    commands.add_parser("status", help="the ledger's view of every target and entity, and the hub's record counts")
    asked = commands.add_parser("why", help="one record's story: export, quarantine, hub, held, every target")
    asked.add_argument("key", help="a record key; composite keys with any separator, e.g. KT-1403/DIST/EA")
    asked.add_argument("--entity", help="look in this entity only (e.g. products)")
    args = parser.parse_args(argv)
    if args.command == "sync":
        return sync(args.dry_run, args.full_refresh, args.reread)
    if args.command == "check":
        return check()
    if args.command == "preview":
        return preview(args.entity, args.rows)
    if args.command == "status":
        return status()
    if args.command == "retry-failed":
        return retry_failed()
    if args.command == "ping":
        return ping()
    if args.command == "why":
        return why(args.key, args.entity)
    return dev(args.port)


if __name__ == "__main__":
    sys.exit(main())
