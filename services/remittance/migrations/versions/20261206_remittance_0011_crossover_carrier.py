"""claim payments record a crossover: the carrier a payer forwarded the claim to (CLP02 19-21, NM1*TT), whether
that carrier's 835 came, and on that 835's payment the forwarded payment it answers

Revision ID: remittance_0011
Revises: remittance_0010
Create Date: 2026-12-06 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0011"
down_revision: str | None = "remittance_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crossover_payer_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("crossover_payer_name", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("crossover_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("crossover_of", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_claim_payment_crossover", ["crossover_state", "tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_payment_crossover")
        batch_op.drop_column("crossover_of")
        batch_op.drop_column("crossover_state")
        batch_op.drop_column("crossover_payer_name")
        batch_op.drop_column("crossover_payer_id")
