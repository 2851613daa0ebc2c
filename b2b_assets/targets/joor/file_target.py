"""JOOR Customer Sync on the outbound contract: `joor/customer_sync_file`, one file per run over FTP(S).

The same connections as the Bulk Connection API (one mapping), written as
the Customer Sync file (`customer_file`) and dropped on JOOR's FTP server
atomically (`ftp`). Its own ledger target (`joor_file`), so the two channels
never confirm each other's records.

What the contract's parts mean for a file:
- One file is one batch (`Mode(one_batch=True)`): the run's changed customers
  all go in one file, or the full list with `full_refresh`. The core hands it
  over a part of the payload at a time (`send_parts`), and the file is written
  to a temporary file as they come (`file_writer`): a first sync never holds
  every customer's rows.
- The synchronous sender returns once the file is under its final name: only
  then are its customers `sent`. A failed upload raises, the core writes
  nothing, and the next run sends the same customers in a new file.
- Bisection never happens: an FTP server takes bytes, it does not refuse
  records, so the sender never raises RecordsRejected. JOOR's intake checks
  rows later and reports by e-mail, out of the client's sight; the seed's
  rules are therefore checked before sending (`customer_file.limits`), and a
  customer they refuse is rejected for this target only.
- Cost: files dropped (JOOR takes at most one per hour).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from b2b_assets.defs.joor.ftp_resources import PASSWORD_ENV_NAME, USER_ENV_NAME, JoorFtpResource, default_joor_ftp
from b2b_assets.targets.core.contract import Batch, Mode, Target, TargetObject
from b2b_assets.targets.joor.customer_file import DEFAULT_DELIMITER, limits, to_file_payload
from b2b_assets.targets.joor.file_writer import write_file
from b2b_assets.targets.joor.ftp import FtpUploader
from b2b_assets.targets.joor.mapping import LOOKUPS, RANGE_COLUMNS, SOURCE_ENTITIES

SANDBOX_CREDENTIALS = {USER_ENV_NAME: "sandbox-joor", PASSWORD_ENV_NAME: "sandbox-ftp-password"}


def file_name(prefix: str, extension: str, now: datetime) -> str:
    """`customer_20261201_140000_123456.txt`: the word customer and a UTC timestamp (microseconds keep names apart)."""
    return f"{prefix}_{now.astimezone(UTC):%Y%m%d_%H%M%S_%f}{extension}"


class CustomerFileSender:
    """Writes a batch as one Customer Sync file and drops it on the FTP server under its final name, atomically."""

    def __init__(self, uploader: FtpUploader, delimiter: str = DEFAULT_DELIMITER, prefix: str = "customer",
                 extension: str = ".txt", clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.uploader, self.delimiter, self.prefix, self.extension, self.clock = (
            uploader, delimiter, prefix, extension, clock)

    def send(self, batch: Batch) -> None:
        self.send_parts([batch])

    def send_parts(self, batches: Iterable[Batch]) -> None:
        """The batches as one file, written to a temporary file a part at a time (file_writer), then uploaded."""
        with tempfile.TemporaryFile(prefix="b2b-joor-customer-") as body:
            write_file(batches, body, self.delimiter)
            self.uploader.upload(file_name(self.prefix, self.extension, self.clock()), body)


def _check_credentials(resource: JoorFtpResource) -> str:
    """Log in to the FTP server (and change to the drop directory), then leave: no file is written."""
    resource.uploader().check_login()
    return "FTP login accepted"


def _sender(resource: JoorFtpResource) -> CustomerFileSender:
    return CustomerFileSender(resource.uploader(), resource.delimiter, resource.file_prefix, resource.file_extension)


def files(_obj: TargetObject, records: int) -> int:
    """What a run costs: one file when anything changed."""
    return 1 if records else 0


CUSTOMER_SYNC_FILE = TargetObject(
    name="customer_sync_file",
    source_entities=SOURCE_ENTITIES,
    key=("customer_code",),
    to_payload=to_file_payload,
    limits=limits,
    mode=Mode(one_batch=True),
    key_ranges=True,
    range_columns=RANGE_COLUMNS,
    whole_entities=LOOKUPS,
    description="JOOR Customer Sync file (seed 001) on JOOR's FTP server: one row per billing or shipping "
                "address of each customer organization, the customer's own columns repeated on each, buyers, "
                "warehouses, payment terms and price types as numbered columns; one file per run, renamed into "
                "place only once complete.",
)

TARGET = Target(
    name="joor_file",
    title="JOOR Customer Sync",
    objects=(CUSTOMER_SYNC_FILE,),
    sender=_sender,
    check_credentials=_check_credentials,
    resource_key="joor_ftp",
    default_resource=default_joor_ftp,
    kinds=frozenset({"joor", "ftp"}),
    cost_unit="files",
    cost=files,
    sandbox_environment=SANDBOX_CREDENTIALS,
    url_environment="JOOR_FTP_HOST",
    asset_prefix="joor",
)
