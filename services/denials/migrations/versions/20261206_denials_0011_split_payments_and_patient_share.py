"""a claim payment's lines keyed by its CLP07 too; each 835 line's deductible and copay

A claim the payer split is two claim payments (CLPs) of one claim in one 835: their lines, numbered from 1 in
each, were one key (claim, remittance, line number) and the second's were dropped; the payer's claim control
number (CLP07) of each now tells them apart. The line's deductible (PR 1) and copay (PR 3) are kept on the
835's lines and on worklist items: the expected payment keeps them as they are. Lines and items stored before
this revision have none (0: the proportional expected payment they were opened with) and an empty CLP07.

Revision ID: denials_0011
Revises: denials_0010
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "denials_0011"
down_revision: str | None = "denials_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0009 named it with op.f: longer than PostgreSQL's 63 characters, it is hashed to fit there, so it is named so again
OLD_KEY = "uq_line_adjudication_tenant_id_claim_id_remittance_id_line_number"
NEW_KEY = "uq_line_adjudication_claim_payment_line"


def upgrade() -> None:
    with op.batch_alter_table("line_adjudication", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payer_claim_control_number", sa.String(length=80), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("deductible_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("copay_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.drop_constraint(op.f(OLD_KEY), type_="unique")
        batch_op.create_unique_constraint(
            NEW_KEY, ["tenant_id", "claim_id", "remittance_id", "payer_claim_control_number", "line_number"]
        )
    with op.batch_alter_table("payment_variance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deductible_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("copay_cents", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payment_variance", schema=None) as batch_op:
        batch_op.drop_column("copay_cents")
        batch_op.drop_column("deductible_cents")
    with op.batch_alter_table("line_adjudication", schema=None) as batch_op:
        batch_op.drop_constraint(NEW_KEY, type_="unique")
        batch_op.create_unique_constraint(op.f(OLD_KEY), ["tenant_id", "claim_id", "remittance_id", "line_number"])
        batch_op.drop_column("copay_cents")
        batch_op.drop_column("deductible_cents")
        batch_op.drop_column("payer_claim_control_number")
