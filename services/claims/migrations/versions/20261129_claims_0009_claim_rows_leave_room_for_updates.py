"""claim rows leave room on their pages for updates (PostgreSQL fillfactor)

A claim row is updated three or four times after charge entry (999, 277CA, 835, ...). Updates that change
no indexed column (the 999's status, amounts after a restated payment) can then be written on the row's own
page without new index entries (a heap-only tuple): pages filled to 100% leave no room for that.

Revision ID: claims_0009
Revises: claims_0008
Create Date: 2026-11-29 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "claims_0009"
down_revision: str | None = "claims_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE claim SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE claim RESET (fillfactor)")
