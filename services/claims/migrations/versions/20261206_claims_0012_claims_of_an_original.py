"""index of a claim's voids, replacements and secondary claims (claim.original_claim_id)

A void or replacement moves its original only when the payer acts on it (277CA acceptance, 835 reversal):
both look up the open requests of an original, which without this index read every claim of the tenant.

Revision ID: claims_0012
Revises: claims_0011
Create Date: 2026-12-06 00:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "claims_0012"
down_revision: str | None = "claims_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_tenant_original", "claim", ["tenant_id", "original_claim_id"])


def downgrade() -> None:
    op.drop_index("ix_claim_tenant_original", table_name="claim")
