"""Tables of the denials service (its own SQLite file, or its own PostgreSQL schema 'denials')."""

from __future__ import annotations

from rcm_shared.bus.tables import bus_tables
from rcm_shared.db import make_metadata

metadata = make_metadata()
bus = bus_tables(metadata)
