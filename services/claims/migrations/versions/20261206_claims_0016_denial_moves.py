"""denial moves: the money each denial resolution moved, once per denial, and its undoing

Revision ID: claims_0016
Revises: claims_0015
Create Date: 2026-12-06 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'claims_0016'
down_revision: str | None = "claims_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('denial_move',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('denial_id', sa.String(length=36), nullable=False),
    sa.Column('claim_id', sa.String(length=20), nullable=False),
    sa.Column('source_remittance_id', sa.String(length=36), nullable=True),
    sa.Column('patient_transfer_cents', sa.BigInteger(), nullable=False),
    sa.Column('written_off_cents', sa.BigInteger(), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'denial_id', name=op.f('pk_denial_move'))
    )
    with op.batch_alter_table('denial_move', schema=None) as batch_op:
        batch_op.create_index('ix_denial_move_claim', ['tenant_id', 'claim_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('denial_move', schema=None) as batch_op:
        batch_op.drop_index('ix_denial_move_claim')

    op.drop_table('denial_move')
