"""bus tables version 2: the relay's index holds the unpublished outbox rows only

Published rows are kept for replay; version 1 indexed (published_at, id) for all of them, so marking a row
published moved its entry within an index as large as the whole history.

Revision ID: remittance_0009
Revises: remittance_0008
Create Date: 2026-11-29 18:40:00
"""

from collections.abc import Sequence

from alembic import op
from rcm_shared.bus.tables import downgrade_bus_tables_2, upgrade_bus_tables_2

revision: str = "remittance_0009"
down_revision: str | None = "remittance_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_bus_tables_2(op)


def downgrade() -> None:
    downgrade_bus_tables_2(op)
