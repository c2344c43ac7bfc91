"""bus tables: outbox, inbox, worker heartbeat, relay lease

Revision ID: claims_0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from rcm_shared.bus.tables import create_bus_tables, drop_bus_tables

revision: str = "claims_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_bus_tables(op)


def downgrade() -> None:
    drop_bus_tables(op)
