"""JoorFtpResource: JOOR's Customer Sync FTP server and the agreed file format; credentials from env variables only."""

from __future__ import annotations

import os

import dagster as dg

from b2b_assets import settings
from b2b_assets.targets.joor.customer_file import DEFAULT_DELIMITER
from b2b_assets.targets.joor.ftp import FtpEndpoint, FtpUploader

USER_ENV_NAME = "JOOR_FTP_USER"
PASSWORD_ENV_NAME = "JOOR_FTP_PASSWORD"
HOST_ENV_NAME = "JOOR_FTP_HOST"


class JoorFtpResource(dg.ConfigurableResource):
    """The FTP (or FTPS) server JOOR pulls Customer Sync files from, and the file format agreed with JOOR."""

    host: str
    port: int = 21
    username: str
    password: str
    tls: bool = False  # FTPS: AUTH TLS on the control channel, PROT P on the data channel
    ca_file: str = ""  # FTPS: a CA bundle (PEM) to trust instead of the system's
    directory: str = ""  # where JOOR picks files up; the login directory when empty
    delimiter: str = DEFAULT_DELIMITER
    file_prefix: str = "customer"  # the seed: "including the word customer along with a timestamp"
    file_extension: str = ".txt"  # JOOR takes .txt or .csv
    timeout_seconds: float = 30.0
    retries: int = 3
    backoff_seconds: float = 1.0

    def uploader(self) -> FtpUploader:
        endpoint = FtpEndpoint(self.host, self.port, self.username, self.password, tls=self.tls, ca_file=self.ca_file,
                               directory=self.directory, timeout_seconds=self.timeout_seconds,
                               credential_names=f"{USER_ENV_NAME} and {PASSWORD_ENV_NAME}")
        return FtpUploader(endpoint, retries=self.retries, backoff_seconds=self.backoff_seconds)


def default_joor_ftp() -> JoorFtpResource:
    return JoorFtpResource(
        host=os.environ.get(HOST_ENV_NAME, "127.0.0.1"),
        port=int(os.environ.get("JOOR_FTP_PORT", settings.SANDBOX_FTP_PORT if HOST_ENV_NAME not in os.environ
                                else 21)),
        username=dg.EnvVar(USER_ENV_NAME),
        password=dg.EnvVar(PASSWORD_ENV_NAME),
        tls=os.environ.get("JOOR_FTP_TLS", "").lower() in ("1", "true", "yes"),
        ca_file=os.environ.get("JOOR_FTP_CA_FILE", ""),
        directory=os.environ.get("JOOR_FTP_DIRECTORY", ""),
        delimiter=os.environ.get("JOOR_FILE_DELIMITER", DEFAULT_DELIMITER),
    )
