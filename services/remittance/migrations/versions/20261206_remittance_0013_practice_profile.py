"""practice_profile and practice_connection: each tenant's statement header and clearinghouse connections, as
claims announces them (claims.practice.changed); billed claims and lines keep the provider's name and the
services' descriptions that statements print

Revision ID: remittance_0013
Revises: remittance_0012
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0013"
down_revision: str | None = "remittance_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_profile",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("statement_name", sa.Text(), nullable=False),
        sa.Column("statement_address", sa.JSON(), nullable=False),
        sa.Column("statement_phone", sa.Text(), nullable=False),
        sa.Column("pay_online", sa.Text(), nullable=True),
        sa.Column("pay_by_mail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_practice_profile")),
    )
    op.create_table(
        "practice_connection",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("submitter_id", sa.String(length=80), nullable=False),
        sa.Column("receiver_id", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_connection")),
    )
    with op.batch_alter_table("practice_connection", schema=None) as batch_op:
        batch_op.create_index("ix_practice_connection_ids", ["submitter_id", "receiver_id"], unique=False)
        batch_op.create_index("ix_practice_connection_tenant", ["tenant_id"], unique=False)
    with op.batch_alter_table("billed_claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_name", sa.Text(), nullable=True))
    with op.batch_alter_table("billed_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billed_line", schema=None) as batch_op:
        batch_op.drop_column("description")
    with op.batch_alter_table("billed_claim", schema=None) as batch_op:
        batch_op.drop_column("provider_name")
    with op.batch_alter_table("practice_connection", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_connection_tenant")
        batch_op.drop_index("ix_practice_connection_ids")
    op.drop_table("practice_connection")
    op.drop_table("practice_profile")
