"""indexes for the remittance list's order and a claim payment's adjustments

Revision ID: remittance_0006
Revises: remittance_0005
Create Date: 2026-11-29 06:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "remittance_0006"
down_revision: str | None = "remittance_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_remittance_tenant_received", "remittance", ["tenant_id", "received_at", "id"])
    op.create_index("ix_ledger_entry_claim_payment", "ledger_entry", ["claim_payment_id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entry_claim_payment", table_name="ledger_entry")
    op.drop_index("ix_remittance_tenant_received", table_name="remittance")
