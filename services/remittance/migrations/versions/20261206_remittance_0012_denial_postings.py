"""denial_posting: what the denials work moved out of insurance A/R (to the patient, or written off)

An index of billed claims by patient account: a patient account's answer (its balance, the claims still with
insurance) found them by reading the tenant's every billed claim.

Revision ID: remittance_0012
Revises: remittance_0011
Create Date: 2026-12-06 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0012"
down_revision: str | None = "remittance_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "denial_posting",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("denial_id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=20), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denial_posting")),
        sa.UniqueConstraint("tenant_id", "denial_id", "kind", name=op.f("uq_denial_posting_tenant_id_denial_id_kind")),
    )
    with op.batch_alter_table("denial_posting", schema=None) as batch_op:
        batch_op.create_index("ix_denial_posting_tenant_claim", ["tenant_id", "claim_id"], unique=False)
    with op.batch_alter_table("billed_claim", schema=None) as batch_op:
        batch_op.create_index("ix_billed_claim_tenant_account", ["tenant_id", "patient_account"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("billed_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_billed_claim_tenant_account")
    with op.batch_alter_table("denial_posting", schema=None) as batch_op:
        batch_op.drop_index("ix_denial_posting_tenant_claim")
    op.drop_table("denial_posting")
