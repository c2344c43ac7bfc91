"""index for the deadline watch: open denials whose deadline is near and not yet announced

Revision ID: denials_0005
Revises: denials_0004
Create Date: 2026-11-29 06:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "denials_0005"
down_revision: str | None = "denials_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_denial_deadline_watch", "denial", ["deadline_notified", "status", "deadline"])


def downgrade() -> None:
    op.drop_index("ix_denial_deadline_watch", table_name="denial")
