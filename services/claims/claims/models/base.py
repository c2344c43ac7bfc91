"""The claims service's MetaData (its own SQLite file, or its own PostgreSQL schema 'claims'), with the bus
tables (outbox, inbox) and the audit trail every service keeps."""

from __future__ import annotations

from rcm_shared.audit import audit_table
from rcm_shared.bus.tables import bus_tables
from rcm_shared.db import make_metadata

metadata = make_metadata()
bus = bus_tables(metadata)
audit = audit_table(metadata)  # the tamper-evident trail of every request (rcm_shared.audit)
