"""The bus tables every service has in its own schema: outbox, inbox, worker heartbeats and the relay lease.

They are plumbing, so they are defined once here; each service adds them to its own MetaData and
creates them in its first migration (``create_bus_tables``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from alembic.operations import Operations
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, handed back aware and in UTC by every backend.

    PostgreSQL's ``timestamptz`` does so already. SQLite has no time zone type: ``DateTime(timezone=True)``
    stores the wall time and hands it back naive, so API answers lost their offset on the embedded stack.
    Here a value is converted to UTC before it is stored and read back with UTC attached. A naive value is
    taken as UTC (what the services have always written). The DDL is that of ``DateTime(timezone=True)``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class BusTables:
    outbox: Table
    inbox: Table
    heartbeat: Table
    lease: Table


def _outbox_columns() -> list[Column[object]]:
    return [
        Column("id", BigId, primary_key=True, autoincrement=True),  # publish order
        Column("event_id", String(64), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("key", String(255), nullable=True),
        Column("event_type", String(200), nullable=False),
        Column("tenant_id", String(64), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("publish_count", Integer, nullable=False, server_default=text("0")),
    ]


def _inbox_columns() -> list[Column[object]]:
    return [
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("consumer", String(200), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False),
    ]


def _heartbeat_columns() -> list[Column[object]]:
    return [
        Column("worker_id", String(200), primary_key=True),
        Column("broker_ok", Integer, nullable=False),
        Column("assigned_partitions", Integer, nullable=False),
        Column("detail", JSON, nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _lease_columns() -> list[Column[object]]:
    return [
        Column("name", String(200), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_at", UtcDateTime(), nullable=False),
    ]


_UNPUBLISHED = text("published_at IS NULL")


def bus_tables(metadata: MetaData) -> BusTables:
    outbox = Table(
        "outbox_event",
        metadata,
        *_outbox_columns(),
        UniqueConstraint("event_id"),
        # the relay's queue: only the rows not yet published, in id order (the published ones stay for replay
        # and leave this index when published; version 2, ``upgrade_bus_tables_2``)
        Index("ix_outbox_event_unpublished", "id", sqlite_where=_UNPUBLISHED, postgresql_where=_UNPUBLISHED),
        Index("ix_outbox_event_topic_created", "topic", "created_at"),
    )
    inbox = Table("inbox_event", metadata, *_inbox_columns(), UniqueConstraint("consumer", "event_id"))
    heartbeat = Table("worker_heartbeat", metadata, *_heartbeat_columns())
    lease = Table("relay_lease", metadata, *_lease_columns())
    return BusTables(outbox=outbox, inbox=inbox, heartbeat=heartbeat, lease=lease)


def create_bus_tables(op: Operations) -> None:
    """Version 1 of the bus tables, for a service's first Alembic migration."""
    op.create_table(
        "outbox_event",
        *_outbox_columns(),
        UniqueConstraint("event_id", name="uq_outbox_event_event_id"),
    )
    op.create_index("ix_outbox_event_unpublished", "outbox_event", ["published_at", "id"])
    op.create_index("ix_outbox_event_topic_created", "outbox_event", ["topic", "created_at"])
    op.create_table(
        "inbox_event",
        *_inbox_columns(),
        UniqueConstraint("consumer", "event_id", name="uq_inbox_event_consumer_event_id"),
    )
    op.create_table("worker_heartbeat", *_heartbeat_columns())
    op.create_table("relay_lease", *_lease_columns())


def upgrade_bus_tables_2(op: Operations) -> None:
    """Version 2: the relay's index holds the unpublished rows only. Version 1 indexed (published_at, id) for
    every row kept, so publishing a row moved its entry within an index that grew with the whole history."""
    op.drop_index("ix_outbox_event_unpublished", table_name="outbox_event")
    op.create_index(
        "ix_outbox_event_unpublished",
        "outbox_event",
        ["id"],
        sqlite_where=_UNPUBLISHED,
        postgresql_where=_UNPUBLISHED,
    )


def downgrade_bus_tables_2(op: Operations) -> None:
    op.drop_index("ix_outbox_event_unpublished", table_name="outbox_event")
    op.create_index("ix_outbox_event_unpublished", "outbox_event", ["published_at", "id"])


def drop_bus_tables(op: Operations) -> None:
    op.drop_table("relay_lease")
    op.drop_table("worker_heartbeat")
    op.drop_table("inbox_event")
    op.drop_table("outbox_event")
