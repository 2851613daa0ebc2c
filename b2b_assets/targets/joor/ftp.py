"""Atomic upload of one file to JOOR's FTP server (ftplib; FTP_TLS with a protected data channel when asked).

JOOR picks up any `.txt` or `.csv` file it finds, so a file must never be
visible under its final name before it is complete: it is stored as
`<name>.part` (a name JOOR does not pick up), its size is checked against what
was sent, and only then renamed to `<name>`. A dropped connection, a refused
transfer or a full disk before the rename leaves at most a `.part` file
behind; the upload is retried with backoff, and if every attempt fails the
error reaches the caller, which then records nothing as sent.

If the connection drops after the server renamed the file but before its
reply arrives, the caller sees a failure and the next run sends those
customers again; JOOR updates a customer by its code, so that costs nothing
but a second file.
"""

from __future__ import annotations

import ftplib
import io
import ssl
import time
from dataclasses import dataclass, field
from typing import BinaryIO

TEMP_SUFFIX = ".part"
# Replies worth another attempt: the server or the connection gave up, not our request or our account.
TRANSIENT_ERRORS = (ftplib.error_temp, ftplib.error_reply, EOFError, OSError)


class FtpError(Exception):
    """The upload failed; the message names the server and its reply, never the credentials."""


class FtpLoginRefused(FtpError):
    pass


@dataclass(frozen=True)
class FtpEndpoint:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    tls: bool = False  # explicit FTPS (AUTH TLS), data channel protected (PROT P), certificate verified
    ca_file: str = ""  # FTPS: trust this CA (PEM) instead of the system's
    directory: str = ""  # where JOOR picks files up; the login directory when empty
    timeout_seconds: float = 30.0
    credential_names: str = "the FTP user and password"  # named in a refused login, e.g. the env variables


class FtpUploader:
    """Stores files atomically (temporary name, size check, rename) on one FTP server."""

    def __init__(self, endpoint: FtpEndpoint, retries: int = 3, backoff_seconds: float = 1.0):
        self.endpoint = endpoint
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    def upload(self, name: str, data: bytes | BinaryIO) -> None:
        """Store `data` (bytes, or a seekable binary file: a large file is not held in memory) as `name`,
        never visible under `name` until complete; raise FtpError if it cannot."""
        where = f"{self.endpoint.host}:{self.endpoint.port}"
        body = io.BytesIO(data) if isinstance(data, bytes) else data
        for attempt in range(self.retries + 1):
            try:
                self._upload_once(name, body)
                return
            except ftplib.error_perm as refused:
                if str(refused).startswith("530"):
                    raise FtpLoginRefused(f"JOOR's FTP server {where} refused the login ({refused}); check "
                                          f"{self.endpoint.credential_names}") from None
                raise FtpError(f"JOOR's FTP server {where} refused {name}: {refused}") from None
            except ssl.SSLCertVerificationError as error:
                raise FtpError(f"JOOR's FTP server {where} did not prove who it is: {error}") from None
            except TRANSIENT_ERRORS as error:
                if attempt == self.retries:
                    raise FtpError(f"uploading {name} to {where} failed after {attempt + 1} attempts; nothing "
                                   f"is under the final name: {type(error).__name__}: {error}") from None
                time.sleep(self.backoff_seconds * 2 ** attempt)

    def _upload_once(self, name: str, body: BinaryIO) -> None:
        temporary = name + TEMP_SUFFIX
        length = body.seek(0, io.SEEK_END)
        body.seek(0)  # from the start again on each attempt
        with self._connect() as ftp:
            ftp.storbinary(f"STOR {temporary}", body)
            stored = ftp.size(temporary)
            if stored != length:
                raise ftplib.error_temp(f"451 {temporary} holds {stored} bytes of {length}; not renamed")
            ftp.rename(temporary, name)

    def check_login(self) -> None:
        """Log in and leave; raises as an upload would when the server refuses the login."""
        try:
            with self._connect():
                pass
        except ftplib.error_perm as refused:
            raise FtpLoginRefused(f"JOOR's FTP server {self.endpoint.host}:{self.endpoint.port} refused the login "
                                  f"({refused}); check {self.endpoint.credential_names}") from None

    def _connect(self) -> ftplib.FTP:
        e = self.endpoint
        if e.tls:
            # ftplib's own default context verifies nothing; this one checks the certificate and the host name.
            context = ssl.create_default_context(cafile=e.ca_file or None)
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=context, timeout=e.timeout_seconds)
        else:
            ftp = ftplib.FTP(timeout=e.timeout_seconds)
        try:
            ftp.connect(e.host, e.port)
            ftp.login(e.username, e.password)
            if e.tls:
                ftp.prot_p()
            if e.directory:
                ftp.cwd(e.directory)
        except BaseException:
            ftp.close()
            raise
        return ftp
