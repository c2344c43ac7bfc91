"""what the FHIR API (ExplanationOfBenefit, PaymentReconciliation) reads besides what posting kept: when a
claim payment last changed (a reversal paired with it, its patient account known), the payee's id qualifier
(N1*PE03: an NPI or a tax id), and per service line the SVC01 qualifier, the revenue code (SVC04) and its
remark codes (LQ*HE); indexes for the searches: remittances by posting (which never changes; their claim payments follow) and
_lastUpdated

Revision ID: remittance_0015
Revises: remittance_0014
Create Date: 2026-12-13 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "remittance_0015"
down_revision: str | None = "remittance_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    # a payment changed last when it was posted, or when the payer's reversal of it was
    op.execute("UPDATE claim_payment SET updated_at = posted_at")
    op.execute(
        "UPDATE claim_payment SET updated_at = "
        "(SELECT r.posted_at FROM claim_payment r WHERE r.id = claim_payment.reversed_by) "
        "WHERE reversed_by IS NOT NULL"
    )
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_claim_payment_tenant_updated", ["tenant_id", "updated_at", "id"], unique=False)
    with op.batch_alter_table("service_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("procedure_qualifier", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("revenue_code", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("remarks", sa.String(length=200), nullable=True))
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payee_id_qualifier", sa.String(length=4), nullable=True))
        batch_op.create_index("ix_remittance_tenant_posted", ["tenant_id", "posted_at", "id"], unique=False)


def downgrade() -> None:
    # The columns go by ALTER TABLE ... DROP COLUMN, which SQLite (3.35+) runs in place, not by a batch rebuild:
    # rebuilding remittance drops the table claim_payment's rows refer to, and the PRAGMA foreign_keys=OFF that
    # SQLite prescribes for a rebuild is ignored inside the one transaction all the migrations run in.
    # None of these columns is indexed (the indexes go first), keyed or referenced, as SQLite requires.
    op.drop_index("ix_remittance_tenant_posted", table_name="remittance")
    op.drop_column("remittance", "payee_id_qualifier")
    op.drop_column("service_payment", "remarks")
    op.drop_column("service_payment", "revenue_code")
    op.drop_column("service_payment", "procedure_qualifier")
    op.drop_index("ix_claim_payment_tenant_updated", table_name="claim_payment")
    op.drop_column("claim_payment", "updated_at")
