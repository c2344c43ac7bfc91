"""write-off approvals and the date an appeal's answer is due

A write-off over the approval threshold waits for a second person (write_off_approval); an appeal records
when the payer's answer is due (appeal.answer_by), the date the deadline watch keeps for appealed claims.

Revision ID: denials_0008
Revises: denials_0007
Create Date: 2026-12-06 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "denials_0008"
down_revision: str | None = "denials_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_off_approval",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("denial_id", sa.String(length=36), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_approval")),
    )
    with op.batch_alter_table("write_off_approval", schema=None) as batch_op:
        batch_op.create_index("ix_write_off_approval_denial", ["tenant_id", "denial_id"], unique=False)
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_by", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_column("answer_by")
    with op.batch_alter_table("write_off_approval", schema=None) as batch_op:
        batch_op.drop_index("ix_write_off_approval_denial")
    op.drop_table("write_off_approval")
