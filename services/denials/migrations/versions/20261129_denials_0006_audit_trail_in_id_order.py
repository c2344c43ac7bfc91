"""audit trail: a tenant's trail in id order (the audit list's pages)

Revision ID: denials_0006
Revises: denials_0005
Create Date: 2026-11-29 07:05:00
"""

from collections.abc import Sequence

from alembic import op
from rcm_shared.audit import downgrade_audit_table_2, upgrade_audit_table_2

revision: str = "denials_0006"
down_revision: str | None = "denials_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_audit_table_2(op)


def downgrade() -> None:
    downgrade_audit_table_2(op)
