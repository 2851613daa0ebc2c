"""One threaded HTTP server for every sandbox, routed by the first path segment.

    /health      → {"status": "ok"}
    /squizz/...  → SquizzSandbox
    /partner/... → PartnerApiSandbox
    /joor/...    → JoorSandbox
    /norce/...   → NorceSandbox

and, beside it on its own loopback port, the JOOR Customer Sync FTP server
(`joor_ftp/`; `ftp_port`, 0 picks a free one).

A new sandbox (JOOR, Norce) is one more row in `SANDBOXES`. Tests call
`start_sandboxes()`; `make sync` runs the `b2b-sandbox` command (`main`), which serves
until SIGTERM/SIGINT and logs one line per request: method, path (session ids masked),
status. Bodies, headers and credentials are never logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from b2b_assets.sandbox.joor import JoorSandbox
from b2b_assets.sandbox.joor_ftp import JoorFtpSandbox
from b2b_assets.sandbox.norce import NorceSandbox
from b2b_assets.sandbox.partner.api import PartnerApiSandbox
from b2b_assets.sandbox.squizz.platform_api import SquizzSandbox
from b2b_assets.sandbox.wire import Request, Response, error_response, json_response

logger = logging.getLogger("b2b_assets.sandbox")


class Sandbox(Protocol):
    def handle(self, request: Request) -> Response: ...

    def redact_path(self, path: str) -> str: ...

    def close(self) -> None: ...


# Path prefix (first segment) → sandbox class. Constructor options reach a sandbox as
# `<prefix>_<option>` keyword arguments of `start_sandboxes`.
SANDBOXES: Mapping[str, type] = {
    "squizz": SquizzSandbox,
    "partner": PartnerApiSandbox,
    "joor": JoorSandbox,
    "norce": NorceSandbox,
}

# Environment variable → start_sandboxes option, for the command line.
CREDENTIAL_VARIABLES = {
    "SQUIZZ_SANDBOX_ORG_ID": "squizz_org_id",
    "SQUIZZ_SANDBOX_API_KEY": "squizz_api_key",
    "SQUIZZ_SANDBOX_API_PASSWORD": "squizz_api_password",
    "PARTNER_SANDBOX_TOKEN": "partner_token",
    "JOOR_SANDBOX_TOKEN": "joor_token",
    "NORCE_SANDBOX_CLIENT_ID": "norce_client_id",
    "NORCE_SANDBOX_CLIENT_SECRET": "norce_client_secret",
}
FTP_CREDENTIAL_VARIABLES = {"JOOR_FTP_SANDBOX_USER": "username", "JOOR_FTP_SANDBOX_PASSWORD": "password"}


class SandboxServer(ThreadingHTTPServer):
    # Daemon threads: a handler sleeping through an injected timeout must not block stop().
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandboxes: Mapping[str, Sandbox]):
        super().__init__(address, SandboxRequestHandler)
        self.sandboxes = sandboxes

    def sandbox_for(self, path: str) -> Sandbox | None:
        return self.sandboxes.get(path.lstrip("/").split("/", 1)[0])


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "b2b-sandbox"
    # Headers and body go out in separate writes; without TCP_NODELAY each answer would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SandboxServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        sandbox = self.server.sandbox_for(url.path)
        log_path = sandbox.redact_path(url.path) if sandbox else url.path
        try:
            body = self._read_body()
        except ValueError:
            self._send(error_response(400, "unreadable request body"), log_path)
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        if url.path == "/health":
            response = json_response({"status": "ok"})
        elif sandbox is None:
            response = error_response(404, "no sandbox serves this path")
        else:
            try:
                response = sandbox.handle(request)
            except Exception:
                logger.exception("%s %s failed", self.command, log_path)
                response = error_response(500, "the sandbox failed; see its log")
        self._send(response, log_path)

    def _read_body(self) -> bytes:
        # The body is read before answering even when the answer is a fault, so a dropped
        # connection is a clean close rather than a reset mid-upload.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline(65537).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: Response, log_path: str) -> None:
        if response.delay_seconds:
            time.sleep(response.delay_seconds)
        if response.drop_connection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            logger.info("%s %s dropped", self.command, log_path)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if response.cut_mid_body:
                self.wfile.write(response.body[:len(response.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                logger.info("%s %s cut mid-body", self.command, log_path)
                return
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout beat an injected delay).
            self.close_connection = True
        logger.info("%s %s %d", self.command, log_path, response.status)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: `_send` logs its own line, with session ids masked."""

    def log_message(self, format: str, *args: Any) -> None:
        # Malformed requests land here; the raw request line could carry a session id.
        logger.debug("http.server: " + format, *args)


class RunningSandboxes:
    """Sandboxes served on a background thread; stop() (or leaving a `with`) shuts them down."""

    def __init__(self, server: SandboxServer, thread: threading.Thread, ftp: JoorFtpSandbox):
        self._server = server
        self._thread = thread
        self.joor_ftp = ftp  # the Customer Sync FTP server: .host, .port, read-back and faults
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"

    @property
    def squizz(self) -> SquizzSandbox:
        return self._server.sandboxes["squizz"]

    @property
    def partner(self) -> PartnerApiSandbox:
        return self._server.sandboxes["partner"]

    @property
    def joor(self) -> JoorSandbox:
        return self._server.sandboxes["joor"]

    @property
    def norce(self) -> NorceSandbox:
        return self._server.sandboxes["norce"]

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        for sandbox in self._server.sandboxes.values():
            sandbox.close()
        self.joor_ftp.close()

    def __enter__(self) -> "RunningSandboxes":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandboxes(
    state_dir: Path | str | None = None, host: str = "127.0.0.1", port: int = 0, ftp_port: int = 0,
    ftp_options: Mapping[str, Any] | None = None, **options: Any
) -> RunningSandboxes:
    """Serve every sandbox on `host:port` (0 picks a free port) from a daemon thread.

    `state_dir` None keeps state in memory; otherwise each sandbox keeps a SQLite file
    there. Other options go to one sandbox by prefix, e.g. `squizz_session_ttl_seconds=1`
    or `partner_token="t"`. The FTP server listens on `host:ftp_port` with `ftp_options`
    (username, password, delimiter) for `JoorFtpSandbox`.
    """
    per_sandbox: dict[str, dict[str, Any]] = {name: {} for name in SANDBOXES}
    for option, value in options.items():
        name, _, setting = option.partition("_")
        if name not in SANDBOXES or not setting:
            raise TypeError(f"unknown sandbox option {option!r}; expected <{'|'.join(SANDBOXES)}>_<setting>")
        per_sandbox[name][setting] = value
    sandboxes = {name: cls(state_dir=state_dir, **per_sandbox[name]) for name, cls in SANDBOXES.items()}
    # The HTTP port is bound first: it is the one `b2b-sync` probes to find sandboxes another run already
    # serves, and /health answers only once the FTP server listens too.
    server = SandboxServer((host, port), sandboxes)
    try:
        ftp = JoorFtpSandbox(state_dir=state_dir, host=host, port=ftp_port, **(ftp_options or {}))
    except BaseException:
        server.server_close()
        raise
    # A short poll interval makes stop() return promptly (tests start a server each).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="b2b-sandbox-server", daemon=True)
    thread.start()
    return RunningSandboxes(server, thread, ftp)


def main(argv: list[str] | None = None) -> int:
    """`b2b-sandbox`: serve all vendor sandboxes until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="b2b-sandbox", description="Serve the vendor sandboxes over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--ftp-port", type=int, default=18021, help="the JOOR Customer Sync FTP server")
    parser.add_argument("--state-dir", type=Path, default=None, help="keep state here across restarts (default: memory only)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    options = {option: os.environ[variable] for variable, option in CREDENTIAL_VARIABLES.items() if os.environ.get(variable)}
    stop_requested = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    ftp_options = {option: os.environ[variable] for variable, option in FTP_CREDENTIAL_VARIABLES.items()
                   if os.environ.get(variable)}
    with start_sandboxes(state_dir=args.state_dir, host=args.host, port=args.port, ftp_port=args.ftp_port,
                         ftp_options=ftp_options, **options) as running:
        logger.info("serving sandboxes on %s and FTP on %s:%d (state: %s)", running.base_url, running.joor_ftp.host,
                    running.joor_ftp.port, args.state_dir or "memory only")
        # Short waits keep the main thread responsive to signals.
        while not stop_requested.wait(0.5):
            pass
        logger.info("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
