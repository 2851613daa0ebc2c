"""JOOR's Customer Sync FTP server as a sandbox: a real FTP server (pyftpdlib) with JOOR's intake behind it.

One user (the sandbox credentials) whose home is the drop directory. The
intake (`intake.py`) picks up final-named files the way JOOR's hourly pull
would; here it runs whenever a file is renamed or stored under a final name,
and before every read-back, so tests need not wait an hour.

Faults (`set_faults`), through pyftpdlib's own hooks:
- `refuse_logins`: refuse the next N logins (530), whatever the password;
- `drop_uploads`: for the next N uploads, write half of the first chunk, then
  close the data and control connections (the client sees the connection
  drop mid-upload);
- `drop_rate` with `seed`: drop that share of uploads (transient faults);
- `disk_full`: every write fails with ENOSPC (pyftpdlib answers 426).

Read-back: `connections()`, `files()` (picked up, with customers landed and
refused), `problems()`, `listing()` (every name in the drop directory,
temporary ones included), `stats()` (logins, uploads, renames, drops).
With a state directory, the drop directory and the intake's state persist
across restarts (`joor_ftp/` under it). With `tls=True` it is an FTPS server
(explicit AUTH TLS, required on both channels) with a self-signed certificate
for its host, at `certificate`, which clients pass as their CA file.
"""

from __future__ import annotations

import errno
import json
import logging
import random
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from b2b_assets.sandbox.joor_ftp.intake import PICKED_UP, FileSeen, Intake, Problem
from b2b_assets.sandbox.joor_ftp.tls import self_signed_certificate

# pyftpdlib logs every command at INFO, and configures logging itself when it finds no handler: its warnings
# (aborted transfers) through the application's handlers are enough beside the HTTP sandboxes' lines.
logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
logging.getLogger("pyftpdlib").addHandler(logging.NullHandler())

USERNAME, PASSWORD = "sandbox-joor", "sandbox-ftp-password"


class _Faults:
    """What to break next; shared by the server's handlers (one IO thread) and the test thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.settings: dict[str, Any] = {}
        self.random = random.Random(0)

    def set(self, settings: dict[str, Any]) -> None:
        with self.lock:
            self.settings = dict(settings)
            self.random = random.Random(settings.get("seed", 0))

    def take(self, name: str) -> bool:
        """True when the fault `name` (a count of next occurrences) applies now; counts it down."""
        with self.lock:
            left = int(self.settings.get(name, 0))
            if left > 0:
                self.settings[name] = left - 1
                return True
            return False

    def drop_now(self) -> bool:
        if self.take("drop_uploads"):
            return True
        with self.lock:
            rate = float(self.settings.get("drop_rate", 0.0))
            return rate > 0 and self.random.random() < rate

    def disk_full(self) -> bool:
        with self.lock:
            return bool(self.settings.get("disk_full"))


class _FullDiskFile:
    """A file opened for writing on a full disk: every write fails as the OS would."""

    def __init__(self, file):
        self._file = file

    def write(self, _data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self._file, name)


class JoorFtpSandbox:
    """A running FTP server with JOOR's Customer Sync intake; `close()` stops it."""

    def __init__(self, state_dir: Path | str | None = None, host: str = "127.0.0.1", port: int = 0,
                 username: str = USERNAME, password: str = PASSWORD, delimiter: str = "|", tls: bool = False):
        self._temporary = None if state_dir else tempfile.mkdtemp(prefix="joor-ftp-")
        base = Path(state_dir) / "joor_ftp" if state_dir else Path(self._temporary)
        self.drop_dir = base / "drop"
        self.drop_dir.mkdir(parents=True, exist_ok=True)
        self._state_file = base / "intake.json" if state_dir else None
        self._lock = threading.Lock()
        self.intake = Intake(delimiter)
        self._stats = {"logins": 0, "logins_refused": 0, "uploads": 0, "uploads_dropped": 0, "renames": 0}
        self._load()
        self.faults = _Faults()
        # FTPS: TLS required on both channels (AUTH TLS before login, PROT P before a transfer).
        self.certificate = self_signed_certificate(base, host) if tls else None
        self._server = FTPServer((host, port), self._handler(username, password), ioloop=IOLoop())
        self.host, self.port = self._server.address
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="joor-ftp-sandbox", daemon=True)
        self._thread.start()

    # --- read-back and steering ---------------------------------------------------------------------------

    def set_faults(self, settings: dict[str, Any]) -> None:
        self.faults.set(settings)

    def connections(self) -> dict[str, dict[str, Any]]:
        self.pick_up()
        with self._lock:
            return json.loads(json.dumps(self.intake.connections))

    def files(self) -> list[dict[str, Any]]:
        self.pick_up()
        with self._lock:
            return [asdict(f) for f in self.intake.files]

    def problems(self) -> list[dict[str, Any]]:
        self.pick_up()
        with self._lock:
            return [asdict(p) for p in self.intake.problems]

    def listing(self) -> list[str]:
        return sorted(p.name for p in self.drop_dir.iterdir())

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def pick_up(self) -> list[str]:
        """What JOOR's pull would do now: read every final-named file not read yet."""
        with self._lock:
            new = self.intake.pick_up(self.drop_dir)
            if new:
                self._save()
            return new

    def close(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        if self._temporary:
            shutil.rmtree(self._temporary, ignore_errors=True)

    def __enter__(self) -> JoorFtpSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the server -------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        # pyftpdlib's IO loop is not thread-safe: it runs, and is closed, on this thread only.
        while not self._stop.is_set():
            self._server.ioloop.loop(0.05, blocking=False)
        self._server.close_all()

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def _handler(self, username: str, password: str) -> type[FTPHandler]:
        sandbox, faults = self, self.faults

        class Authorizer(DummyAuthorizer):
            def validate_authentication(self, user, given, handler):
                if faults.take("refuse_logins"):
                    sandbox._count("logins_refused")
                    raise AuthenticationFailed("Authentication failed.")
                super().validate_authentication(user, given, handler)
                sandbox._count("logins")

        class Filesystem(AbstractedFS):
            def open(self, filename, mode):
                file = super().open(filename, mode)
                return _FullDiskFile(file) if "w" in mode and faults.disk_full() else file

        tls = self.certificate is not None
        if tls:
            from pyftpdlib.handlers import TLS_DTPHandler as BaseDTP, TLS_FTPHandler as BaseHandler
        else:
            BaseDTP, BaseHandler = DTPHandler, FTPHandler

        class DroppingDTP(BaseDTP):
            def handle_read(self):
                if not getattr(self.cmd_channel, "drop_this_upload", False):
                    return super().handle_read()
                chunk = self.recv(self.ac_in_buffer_size)
                if chunk:
                    self.file_obj.write(chunk[: len(chunk) // 2])
                self.file_obj.flush()
                sandbox._count("uploads_dropped")
                self.cmd_channel.close()  # closes this data channel too

            if not tls:  # plain DTPHandler aliases the event to its own handle_read; TLS dispatches to ours
                handle_read_event = handle_read

        class Handler(BaseHandler):
            abstracted_fs = Filesystem
            dtp_handler = DroppingDTP
            banner = "JOOR Customer Sync sandbox"
            auth_failed_timeout = 0  # pyftpdlib waits 3 s after a failed login; the tests need not

            def ftp_STOR(self, file, mode="w"):
                self.drop_this_upload = faults.drop_now()
                sandbox._count("uploads")
                return super().ftp_STOR(file, mode)

            def on_file_received(self, file):
                if PICKED_UP.fullmatch(Path(file).name):
                    sandbox.pick_up()

            def ftp_RNTO(self, path):
                renamed = super().ftp_RNTO(path)
                if renamed:
                    sandbox._count("renames")
                    sandbox.pick_up()
                return renamed

        authorizer = Authorizer()
        authorizer.add_user(username, password, str(self.drop_dir), perm="elradfmw")
        Handler.authorizer = authorizer
        if tls:
            Handler.certfile = str(self.certificate)
            Handler.tls_control_required = Handler.tls_data_required = True
        return Handler

    # --- persistence ----------------------------------------------------------------------------------------

    def _load(self) -> None:
        if self._state_file is None or not self._state_file.exists():
            return
        state = json.loads(self._state_file.read_text())
        self.intake.connections = state["connections"]
        self.intake.files = [FileSeen(**f) for f in state["files"]]
        self.intake.problems = [Problem(**p) for p in state["problems"]]

    def _save(self) -> None:
        if self._state_file is None:
            return
        state = {"connections": self.intake.connections, "files": [asdict(f) for f in self.intake.files],
                 "problems": [asdict(p) for p in self.intake.problems]}
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False))
        temporary.replace(self._state_file)
