"""what the denials work moved out of insurance A/R: claim.patient_transfer_cents, claim.written_off_cents

A denial billed to the patient or written off leaves the claim's insurance balance; the amounts come with the
denial's resolution event.

Revision ID: claims_0014
Revises: claims_0013
Create Date: 2026-12-06 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "claims_0014"
down_revision: str | None = "claims_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_transfer_cents", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("written_off_cents", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("written_off_cents")
        batch_op.drop_column("patient_transfer_cents")
