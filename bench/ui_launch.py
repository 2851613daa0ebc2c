"""How long the full sync takes from the UI, against `make sync`, on the bundled sample.

    python -m bench.ui_launch

Both runs start from nothing (a fresh hub, ledger, sandbox state and Dagster instance in a
temporary directory, the repository's dagster.yaml, sandbox ports of their own):

- `b2b-sync sync`: what `make sync` runs, timed from the command's start to its exit;
- a UI launch: `b2b-sync dev` (webserver, daemon and sandboxes, as `make dev` starts them), then
  `full_sync` submitted through the webserver's GraphQL API (what the Launchpad's button sends),
  timed from the submission until the run ends. The queue, the daemon's dequeue, the run worker's
  start and its code load are all inside that figure.

Prints both, their ratio and the machine; the README quotes them. The browser test
(b2b_assets_tests/ops/test_browser.py) starts the UI the same way.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from b2b_assets import settings

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
UI_START_SECONDS = 300  # the webserver's first code load, on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_environment(root: Path, instance_settings: str = "dagster.yaml") -> dict[str, str]:
    """Variables that give one run its own Dagster instance (from the repository's `instance_settings`),
    hub, ledger, reports and sandboxes."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(settings.REPO_ROOT / instance_settings, home / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(home), "B2B_STATE_DIR": str(root / "state"),
            "B2B_REPORTS_DIR": str(root / "reports"), "B2B_SANDBOX_PORT": str(free_port()),
            "B2B_SANDBOX_FTP_PORT": str(free_port())}


def time_cli(root: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "b2b_assets.cli", "sync"], env=fresh_environment(root),
                   cwd=settings.REPO_ROOT, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


@dataclass(frozen=True)
class RunningUI:
    url: str
    client: DagsterGraphQLClient
    environment: dict[str, str]


@contextmanager
def running_ui(root: Path) -> Iterator[RunningUI]:
    """`b2b-sync dev` over a fresh state under `root`, stopped (with the sandboxes it started) on exit."""
    port, environment = free_port(), fresh_environment(root)
    log = (root / "dev.log").open("wb")
    dev = subprocess.Popen([sys.executable, "-m", "b2b_assets.cli", "dev", "--port", str(port)], env=environment,
                           cwd=settings.REPO_ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield RunningUI(f"http://127.0.0.1:{port}", DagsterGraphQLClient("127.0.0.1", port_number=port),
                        environment)
    finally:
        stop_process_group(dev)
        log.close()


def stop_process_group(leader: subprocess.Popen, grace_seconds: float = 60) -> None:
    """Stop `b2b-sync dev` as Ctrl-C does (dagster dev then stops its webserver and daemon, b2b-sync its
    sandboxes); whatever of its process group outlives the grace period is killed. Nothing else is touched."""
    os.killpg(leader.pid, signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(leader.pid, 0)  # anyone of the group left?
        except ProcessLookupError:
            break
        leader.poll()  # reap the leader, so that it does not linger as a zombie member
        time.sleep(0.5)
    else:
        os.killpg(leader.pid, signal.SIGKILL)
    leader.wait(timeout=30)


def launch_full_sync(client: DagsterGraphQLClient) -> tuple[str, str, float]:
    """Submit full_sync as the Launchpad does, as soon as the code location is loaded, and wait for its end.

    Returns the run id, its final status and the seconds from submission to the end."""
    deadline = time.monotonic() + UI_START_SECONDS
    while True:
        try:
            run_id = client.submit_job_execution("full_sync")
            break
        except DagsterGraphQLClientError as exc:  # the webserver is not up yet, or still loading the code
            if time.monotonic() > deadline:
                raise RuntimeError(f"the webserver did not take the launch: {exc}") from exc
            time.sleep(0.5)
    started = time.monotonic()
    while (status := client.get_run_status(run_id).value) not in TERMINAL:
        time.sleep(0.5)
    return run_id, status, time.monotonic() - started


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="b2b_ui_launch_", ignore_cleanup_errors=True) as tmp:
        cli = time_cli(Path(tmp) / "cli")
        with running_ui(Path(tmp) / "ui") as ui:
            _, status, seconds = launch_full_sync(ui.client)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"b2b-sync sync (make sync):  {cli:6.1f} s")
    print(f"UI launch of full_sync:     {seconds:6.1f} s  ({status})")
    print(f"UI / CLI:                   {seconds / cli:6.2f}")
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
