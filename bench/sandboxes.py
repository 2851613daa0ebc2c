"""The bundled sandboxes as the benchmark's child process: `python -m bench.sandboxes`, ready line on stdout.

Every sandbox as `b2b-sandbox` serves it (HTTP and the JOOR FTP server, state in
memory), except JOOR's credit window, opened wide: the benchmark measures the
client, not JOOR's 300 credits per five minutes, which at L scale alone would
take longer than the whole sync. Prints `ready <http port> <ftp port>` once
both listen, then serves until stdin closes (the parent's end) or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

from b2b_assets.sandbox.serve import start_sandboxes

JOOR_CREDITS = 1_000_000_000


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_sandboxes(joor_credits_per_window=JOOR_CREDITS) as running:
        print(f"ready {running.base_url.rsplit(':', 1)[1]} {running.joor_ftp.port}", flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
