"""HL7 charges keep their FT1-2 transaction id, once per visit: a charge sent again is not billed twice,
and a reversal naming it takes from that charge

Revision ID: claims_0021
Revises: claims_0020
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "claims_0021"
down_revision: str | None = "claims_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hl7_charge") as batch:
        batch.add_column(sa.Column("transaction_id", sa.String(length=80), nullable=True))
    op.create_index(
        "ix_hl7_charge_transaction", "hl7_charge", ["tenant_id", "encounter_id", "transaction_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_hl7_charge_transaction", table_name="hl7_charge")
    with op.batch_alter_table("hl7_charge") as batch:
        batch.drop_column("transaction_id")
