"""Every table the store owns, on one MetaData.

Hub tables are generated from the canonical model: one `hub_<entity>` table per
entity, a typed column per field, the entity's key as composite primary key,
plus bookkeeping columns (`_row_hash`, `_in_source`, `_loaded_at`, `_version`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, Numeric, String, Table, Text, cast, func,
    literal_column, or_, text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from b2b_assets.model import ENTITIES, Entity, Field, Kind
from b2b_assets.model.decimals import PRECISION, SCALE

metadata = MetaData()

LONG_TEXT = 4000  # above this a TEXT field is stored as Text rather than VARCHAR(n)
ROW_HASH, IN_SOURCE, LOADED_AT, VERSION = "_row_hash", "_in_source", "_loaded_at", "_version"
BOOKKEEPING = (ROW_HASH, IN_SOURCE, LOADED_AT)  # what `with_meta` reads add; `_version` is read on its own
# SQLite only auto-increments an INTEGER PRIMARY KEY.
AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class ExactDecimal(TypeDecorator):
    """The model's DECIMAL(38, 10), exact on both databases, always read back as text.

    PostgreSQL: NUMERIC(38, 10). SQLite has no exact decimal type (REAL is a float, and NUMERIC
    affinity turns "12.3456789" into a float too), and a scaled integer does not fit: 38 digits
    need 127 bits, SQLite integers have 64. So SQLite stores the fixed-scale text
    ("12.3456789000", model/decimals.canonical_text): one spelling per value, so equality,
    keys and hashes are exact; only ORDER BY on such a column sorts as text.
    Both are selected as text and parsed by Arrow in `cast_frame`: no per-row Decimal objects.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: ANN001, ANN201 - SQLAlchemy hook
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(PRECISION, SCALE, asdecimal=True))
        return dialect.type_descriptor(String(PRECISION + 2))  # digits, sign and point

    def column_expression(self, column):  # noqa: ANN001, ANN201 - SQLAlchemy hook
        return cast(column, Text())


def column_type(field: Field) -> TypeEngine:
    if field.kind is Kind.DECIMAL:
        return ExactDecimal()
    if field.kind is Kind.INTEGER:
        return BigInteger()
    if field.kind is Kind.BOOLEAN:
        return Boolean(create_constraint=False)
    if field.max_length is None or field.max_length > LONG_TEXT:
        return Text() if field.kind in (Kind.TEXT, Kind.LIST) else String()
    return String(field.max_length)


def hub_table_name(entity_name: str) -> str:
    return f"hub_{entity_name}"


def version_index_name(entity_name: str) -> str:
    return f"ix_{hub_table_name(entity_name)}_version"


def _hub_table(entity: Entity) -> Table:
    columns = []
    for f in entity.fields:
        in_key = f.name in entity.key
        # Optional key parts are stored as '' so the composite primary key holds.
        columns.append(Column(
            f.name, column_type(f), primary_key=in_key, nullable=not in_key, autoincrement=False,
            server_default=text("''") if in_key and f.kind not in (Kind.DECIMAL, Kind.INTEGER, Kind.BOOLEAN) else None,
        ))
    return Table(
        hub_table_name(entity.name), metadata, *columns,
        Column(ROW_HASH, BigInteger, nullable=False),
        Column(IN_SOURCE, Boolean(create_constraint=False), nullable=False, server_default=text("true")),
        Column(LOADED_AT, DateTime(timezone=True), nullable=False),
        # The entity's hub version (store/versions.py) of the write that last inserted, changed or flipped the
        # presence of the row: what lets an outbound plan pick the rows changed since its last sync
        # (pipeline/outbound_changed.py). NULL (unknown) on rows from before this column.
        Column(VERSION, BigInteger),
        # So that the rows written since a version are found without reading the others.
        Index(version_index_name(entity.name), VERSION),
        comment=entity.description,
        sqlite_with_rowid=False,  # clustered by key: faster upserts and key-order reads
    )


HUB_TABLES: dict[str, Table] = {e.name: _hub_table(e) for e in ENTITIES}

held_records = Table(
    "held_records", metadata,
    Column("entity", String(64), primary_key=True),
    Column("record_key", Text, primary_key=True),
    Column("payload", Text, nullable=False),  # the canonical record as JSON
    Column("missing_reference", Text),
    Column("reason", Text),
    Column("first_held_at", DateTime(timezone=True), nullable=False),
    Column("last_tried_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(128), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("source", Text),
    Column("row_number", BigInteger),  # None for file-level problems
    Column("field", Text),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_quarantine_run_entity", "run_id", "entity"),
    Index("ix_quarantine_entity_id", "entity", "id"),
)

sync_ledger = Table(
    "sync_ledger", metadata,
    Column("target", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("record_key", Text, primary_key=True),
    Column("payload_hash", BigInteger),
    Column("state", String(16), nullable=False),  # one of LEDGER_STATES
    Column("last_error", Text),
    Column("job_id", String(255)),  # the target's job, while the record is `submitted` in it
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("first_sent_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    # Set by the database when the ledger first records the key (no writer names it): how long a record has
    # been rejected or held. NULL on rows from before this column (an ADD COLUMN cannot give them a time).
    Column("first_seen_at", DateTime(timezone=True), server_default=func.current_timestamp()),
)
# The records a target does not hold as confirmed (any state but LedgerState.SENT, or sent before hashes were
# kept): a few beside millions of confirmed ones, indexed on their own so that a plan of only the changed rows
# reads them without reading the ledger (pipeline/outbound_changed.py). The state is a literal: SQLite uses a
# partial index only for a query whose WHERE repeats its terms, and a bound parameter does not.
UNSETTLED = or_(sync_ledger.c.state != literal_column("'sent'"), sync_ledger.c.payload_hash.is_(None))
Index("ix_sync_ledger_unsettled", sync_ledger.c.target, sync_ledger.c.entity, sync_ledger.c.record_key,
      sqlite_where=UNSETTLED, postgresql_where=UNSETTLED)

source_cursors = Table(
    "source_cursors", metadata,
    Column("source", String(255), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Who holds each (target, entity) sync lock (see store/locks.py); the row is the lock itself on SQLite.
sync_locks = Table(
    "sync_locks", metadata,
    Column("target", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# Per hub entity, a number that moves only when a load changed a row of it (store/versions.py): what lets an
# outbound object whose inputs did not move skip its plan.
hub_versions = Table(
    "hub_versions", metadata,
    Column("entity", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Per target object, counters its sync ledger's writers move in the same transaction (store/ledger_versions.py):
# what lets a mark tell from one row that the object's ledger, or a referenced object's confirmed set, held still.
ledger_versions = Table(
    "ledger_versions", metadata,
    Column("target", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),  # every write and purge
    Column("left_sent", BigInteger, nullable=False),  # every write or purge that takes a record out of `sent`
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Per target object, what its last complete sync planned from (pipeline/outbound_marks.py): the hub versions
# and referenced objects' ledger summaries it read, what shapes its payload, and its own ledger after it.
outbound_marks = Table(
    "outbound_marks", metadata,
    Column("target", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: entity versions and referenced objects' ledger summaries
    Column("ledger", Text, nullable=False),  # JSON: the object's own ledger summary after the sync
    Column("counts", Text, nullable=False),  # JSON: what the sync counted that a skipped run reports again
    Column("marked_at", DateTime(timezone=True), nullable=False),
)
