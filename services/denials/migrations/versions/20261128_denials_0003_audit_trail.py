"""audit trail

Revision ID: denials_0003
Revises: denials_0002
Create Date: 2026-11-28 05:11:33.546582
"""

from collections.abc import Sequence

from alembic import op
from rcm_shared.audit import create_audit_table, drop_audit_table


revision: str = 'denials_0003'
down_revision: str | None = 'denials_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table(op)


def downgrade() -> None:
    drop_audit_table(op)
