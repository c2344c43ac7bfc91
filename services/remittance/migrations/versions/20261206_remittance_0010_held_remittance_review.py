"""a held 835 can be released or rejected by an operator, or superseded by the payer's corrected file

The held set's X12 is kept (``held_set``) so that a release posts it as the payer sent it; the remittance
records the imbalance, the decision (who, when, why) and the correction that superseded it. One payment per
payer trace number still holds, for every remittance that is not superseded (a partial unique index).
The held queue (remittances by status) and a remittance's PLBs are read from indexes of their own.

Revision ID: remittance_0010
Revises: remittance_0009
Create Date: 2026-12-06 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0010"
down_revision: str | None = "remittance_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT = sa.text("status <> 'superseded'")


def upgrade() -> None:
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imbalance_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("review_decision", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=36), nullable=True))
        batch_op.drop_constraint("uq_remittance_tenant_id_payer_id_trace_number", type_="unique")
        batch_op.create_index(
            "ux_remittance_tenant_payer_trace",
            ["tenant_id", "payer_id", "trace_number"],
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        )
        batch_op.create_index(
            "ix_remittance_tenant_status_received", ["tenant_id", "status", "received_at", "id"], unique=False
        )
    with op.batch_alter_table("provider_adjustment", schema=None) as batch_op:
        batch_op.create_index("ix_provider_adjustment_remittance", ["remittance_id"], unique=False)
    op.create_table(
        "held_set",
        sa.Column("remittance_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("x12_zlib", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittance.id"], name=op.f("fk_held_set_remittance_id_remittance")
        ),
        sa.PrimaryKeyConstraint("remittance_id", name=op.f("pk_held_set")),
    )


def downgrade() -> None:
    op.drop_table("held_set")
    with op.batch_alter_table("provider_adjustment", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_adjustment_remittance")
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.drop_index("ix_remittance_tenant_status_received")
        batch_op.drop_index("ux_remittance_tenant_payer_trace")
        batch_op.create_unique_constraint(
            "uq_remittance_tenant_id_payer_id_trace_number", ["tenant_id", "payer_id", "trace_number"]
        )
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("review_decision")
        batch_op.drop_column("imbalance_cents")
