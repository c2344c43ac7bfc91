"""FHIR clients' identifiers: a Claim.identifier names the claim it made (a submission sent again answers it),
a Patient's MRN names the patient account

Revision ID: claims_0022
Revises: claims_0021
Create Date: 2026-12-10 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "claims_0022"
down_revision: str | None = "claims_0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_identifier",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "system", "value", name=op.f("pk_claim_identifier")),
    )
    op.create_index("ix_claim_identifier_claim", "claim_identifier", ["tenant_id", "claim_id"])
    op.create_table(
        "patient_identifier",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("patient_account", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "system", "value", "patient_account", name=op.f("pk_patient_identifier")),
    )
    op.create_index("ix_patient_identifier_account", "patient_identifier", ["tenant_id", "patient_account"])


def downgrade() -> None:
    op.drop_index("ix_patient_identifier_account", table_name="patient_identifier")
    op.drop_table("patient_identifier")
    op.drop_index("ix_claim_identifier_claim", table_name="claim_identifier")
    op.drop_table("claim_identifier")
