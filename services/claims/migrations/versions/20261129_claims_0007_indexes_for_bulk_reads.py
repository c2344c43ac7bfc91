"""indexes for the 999's claims of a submission, the worker's poll of pending submissions, the claim list

Revision ID: claims_0007
Revises: claims_0006
Create Date: 2026-11-29 06:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "claims_0007"
down_revision: str | None = "claims_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_tenant_submission", "claim", ["tenant_id", "submission_id"])
    op.create_index("ix_submission_status_created", "submission", ["status", "created_at"])
    op.create_index("ix_claim_tenant_created", "claim", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_claim_tenant_created", table_name="claim")
    op.drop_index("ix_submission_status_created", table_name="submission")
    op.drop_index("ix_claim_tenant_submission", table_name="claim")
