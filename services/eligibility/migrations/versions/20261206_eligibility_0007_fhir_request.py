"""eligibility checks asked through FHIR: the Patient referenced, the request's purposes; FHIR search indexes

A CoverageEligibilityRequest names its patient by reference and says what it asks (purpose) and how the patient
relates to the subscriber; the check keeps them to answer and to find it by `patient`. Searches page every
check of a tenant newest first: (tenant_id, created_at, id).

Revision ID: eligibility_0007
Revises: eligibility_0006
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_0007"
down_revision: str | None = "eligibility_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("eligibility_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fhir_request", sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index("ix_eligibility_check_created", ["tenant_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_eligibility_check_patient", ["tenant_id", "patient_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("eligibility_check", schema=None) as batch_op:
        batch_op.drop_index("ix_eligibility_check_patient")
        batch_op.drop_index("ix_eligibility_check_created")
        batch_op.drop_column("fhir_request")
        batch_op.drop_column("patient_id")
