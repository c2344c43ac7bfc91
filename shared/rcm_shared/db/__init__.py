"""Async SQLAlchemy helpers, by capability: engines per service (``engines``), whether the database can be
reached (``outages``), write transactions and the SQLite write turn (``transactions``), group commit
(``group_commit``) and bulk statements (``bulk``). The names below are the package's public interface."""

from rcm_shared.db.bulk import COPY_MIN_ROWS, bulk_insert, bulk_update
from rcm_shared.db.engines import (
    MAX_OFFSET,
    MAX_ROW_ID,
    NAMING_CONVENTION,
    READ_ONLY,
    check_schema_name,
    create_engine,
    engine_scope,
    ensure_schema,
    filter_only,
    is_sqlite,
    make_metadata,
    session_factory,
)
from rcm_shared.db.group_commit import GroupCommit, Writer
from rcm_shared.db.outages import DATABASE_WAIT_MAX, database_unreachable, outage_delay
from rcm_shared.db.transactions import per_engine, read_connection, write_queue, write_transaction

__all__ = [
    "COPY_MIN_ROWS",
    "DATABASE_WAIT_MAX",
    "MAX_OFFSET",
    "MAX_ROW_ID",
    "NAMING_CONVENTION",
    "READ_ONLY",
    "GroupCommit",
    "Writer",
    "bulk_insert",
    "bulk_update",
    "check_schema_name",
    "create_engine",
    "database_unreachable",
    "engine_scope",
    "ensure_schema",
    "filter_only",
    "is_sqlite",
    "make_metadata",
    "outage_delay",
    "per_engine",
    "read_connection",
    "session_factory",
    "write_queue",
    "write_transaction",
]
