"""a payment that came before its claim was known: the patient's name held until it is

Revision ID: remittance_0005
Revises: remittance_0004
Create Date: 2026-11-29 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0005"
down_revision: str | None = "remittance_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_payment") as batch:
        batch.add_column(sa.Column("held_patient_last_name", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("held_patient_first_name", sa.String(length=80), nullable=True))
    op.create_index("ix_review_item_tenant_claim", "review_item", ["tenant_id", "claim_id"])


def downgrade() -> None:
    op.drop_index("ix_review_item_tenant_claim", table_name="review_item")
    with op.batch_alter_table("claim_payment") as batch:
        batch.drop_column("held_patient_first_name")
        batch.drop_column("held_patient_last_name")
