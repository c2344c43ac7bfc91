"""eligibility checks: whose coverage each is about, so a recent answer is reused for the same person only

A dependent has no member id of its own: a dependent's check and the subscriber's share the member id, and
without this column one family member's answer was reused for another's question. Existing rows get a key
no question matches: whom they were about is not known here, and an answer is reused for minutes only.

Revision ID: eligibility_0008
Revises: eligibility_0007
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_0008"
down_revision: str | None = "eligibility_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("eligibility_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked_for", sa.String(length=32), nullable=False, server_default=""))
    op.execute(sa.table("eligibility_check", sa.column("asked_for")).update().values(asked_for="?"))


def downgrade() -> None:
    with op.batch_alter_table("eligibility_check", schema=None) as batch_op:
        batch_op.drop_column("asked_for")
