"""claims record a crossover: the carrier their payer forwarded them to (835 CLP02 19-21, NM1*TT), which is not
billed by us, and whether its own 835 has come (pending | answered), indexed for the follow-up list

Revision ID: claims_0013
Revises: claims_0012
Create Date: 2026-12-06 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "claims_0013"
down_revision: str | None = "claims_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crossover_payer_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("crossover_payer_name", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("crossover_state", sa.String(length=10), nullable=True))
        batch_op.create_index("ix_claim_crossover", ["crossover_state", "tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_crossover")
        batch_op.drop_column("crossover_state")
        batch_op.drop_column("crossover_payer_name")
        batch_op.drop_column("crossover_payer_id")
