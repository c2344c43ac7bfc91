"""service payments keep SVC07, the units as billed, so a payment posted before its claim's lines arrived is
matched to its billed line on the units billed, as one matched at posting is

Revision ID: remittance_0008
Revises: remittance_0007
Create Date: 2026-11-29 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0008"
down_revision: str | None = "remittance_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_units", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_payment", schema=None) as batch_op:
        batch_op.drop_column("original_units")
