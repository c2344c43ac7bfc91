"""charge master: the practice's prices by code and modifiers, versioned by effective dates

Revision ID: claims_0017
Revises: claims_0016
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'claims_0017'
down_revision: str | None = "claims_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charge_master_item',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('modifiers', sa.String(length=11), nullable=False),
    sa.Column('revenue_code', sa.String(length=4), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_charge_master_item'))
    )
    with op.batch_alter_table('charge_master_item', schema=None) as batch_op:
        batch_op.create_index(
            'ix_charge_master_item_lookup', ['tenant_id', 'code', 'modifiers', 'effective_from'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('charge_master_item', schema=None) as batch_op:
        batch_op.drop_index('ix_charge_master_item_lookup')

    op.drop_table('charge_master_item')
