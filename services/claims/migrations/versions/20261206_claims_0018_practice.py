"""practice master data: organization profile, clearinghouse connections, providers, facilities, payer enrollments

Revision ID: claims_0018
Revises: claims_0017
Create Date: 2026-12-06 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "claims_0018"
down_revision: str | None = "claims_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _versioned() -> list[sa.Column]:
    return [
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "practice_profile",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("legal_name", sa.String(length=60), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "version", name=op.f("pk_practice_profile")),
    )
    op.create_table(
        "practice_connection",
        sa.Column("submitter_id", sa.String(length=15), nullable=False),
        sa.Column("receiver_id", sa.String(length=15), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("submitter_id", "receiver_id", name=op.f("pk_practice_connection")),
    )
    op.create_index("ix_practice_connection_tenant", "practice_connection", ["tenant_id"])
    op.create_table(
        "practice_provider",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("first_name", sa.String(length=35), nullable=True),
        sa.Column("taxonomy", sa.String(length=10), nullable=True),
        *_versioned(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_practice_provider")),
    )
    op.create_index(
        "ix_practice_provider_version", "practice_provider", ["tenant_id", "npi", "effective_from"], unique=True
    )
    op.create_table(
        "service_facility",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("facility_id", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("address_line1", sa.String(length=55), nullable=False),
        sa.Column("address_line2", sa.String(length=55), nullable=True),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("postal_code", sa.String(length=9), nullable=False),
        sa.Column("place_of_service", sa.String(length=2), nullable=False),
        *_versioned(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_service_facility")),
    )
    op.create_index(
        "ix_service_facility_version", "service_facility", ["tenant_id", "facility_id", "effective_from"], unique=True
    )
    op.create_table(
        "payer_enrollment",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("connection_payer_ids", sa.JSON(), nullable=False),
        sa.Column("claim_filing_indicator", sa.String(length=2), nullable=False),
        sa.Column("era_enrolled", sa.Boolean(), nullable=False),
        sa.Column("eft_enrolled", sa.Boolean(), nullable=False),
        *_versioned(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payer_enrollment")),
    )
    op.create_index(
        "ix_payer_enrollment_version", "payer_enrollment", ["tenant_id", "payer_id", "effective_from"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_payer_enrollment_version", table_name="payer_enrollment")
    op.drop_table("payer_enrollment")
    op.drop_index("ix_service_facility_version", table_name="service_facility")
    op.drop_table("service_facility")
    op.drop_index("ix_practice_provider_version", table_name="practice_provider")
    op.drop_table("practice_provider")
    op.drop_index("ix_practice_connection_tenant", table_name="practice_connection")
    op.drop_table("practice_connection")
    op.drop_table("practice_profile")
