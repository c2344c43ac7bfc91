"""audit trail

Revision ID: claims_0004
Revises: claims_0003
Create Date: 2026-11-28 05:11:15.698315
"""

from collections.abc import Sequence

from alembic import op
from rcm_shared.audit import create_audit_table, drop_audit_table


revision: str = 'claims_0004'
down_revision: str | None = 'claims_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table(op)


def downgrade() -> None:
    drop_audit_table(op)
