"""HL7 v2 interfaces: messages handled, registered patients and their coverage, encounters and their charges

Revision ID: claims_0020
Revises: claims_0019
Create Date: 2026-12-06 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "claims_0020"
down_revision: str | None = "claims_0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hl7_message",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("ack", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sender", "control_id", name=op.f("pk_hl7_message")),
    )
    op.create_table(
        "hl7_patient",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("mrn", sa.String(length=80), nullable=False),
        sa.Column("person", sa.JSON(), nullable=False),
        sa.Column("guarantor", sa.JSON(), nullable=True),
        sa.Column("merged_into", sa.String(length=80), nullable=True),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "mrn", name=op.f("pk_hl7_patient")),
    )
    op.create_table(
        "hl7_coverage",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("mrn", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("payer_name", sa.String(length=60), nullable=True),
        sa.Column("member_id", sa.String(length=80), nullable=False),
        sa.Column("group_number", sa.String(length=50), nullable=True),
        sa.Column("relationship", sa.String(length=2), nullable=False),
        sa.Column("insured", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "mrn", "position", name=op.f("pk_hl7_coverage")),
    )
    op.create_table(
        "hl7_encounter",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("visit_number", sa.String(length=80), nullable=False),
        sa.Column("mrn", sa.String(length=80), nullable=False),
        sa.Column("facility_id", sa.String(length=50), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("claim_id", sa.String(length=20), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hl7_encounter")),
        sa.UniqueConstraint("tenant_id", "visit_number", name=op.f("uq_hl7_encounter_tenant_id_visit_number")),
    )
    op.create_index("ix_hl7_encounter_due", "hl7_encounter", ["state", "due_on"], unique=False)
    op.create_index("ix_hl7_encounter_patient", "hl7_encounter", ["tenant_id", "mrn", "state"], unique=False)
    op.create_table(
        "hl7_charge",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("encounter_id", sa.String(length=36), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("procedure_code", sa.String(length=5), nullable=False),
        sa.Column("modifiers", sa.String(length=11), nullable=False),
        sa.Column("transaction_code", sa.String(length=80), nullable=False),
        sa.Column("units_milli", sa.BigInteger(), nullable=False),
        sa.Column("reversed_milli", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("performing_npi", sa.String(length=10), nullable=True),
        sa.Column("ordering_npi", sa.String(length=10), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hl7_charge")),
    )
    op.create_index("ix_hl7_charge_encounter", "hl7_charge", ["tenant_id", "encounter_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hl7_charge_encounter", table_name="hl7_charge")
    op.drop_table("hl7_charge")
    op.drop_index("ix_hl7_encounter_patient", table_name="hl7_encounter")
    op.drop_index("ix_hl7_encounter_due", table_name="hl7_encounter")
    op.drop_table("hl7_encounter")
    op.drop_table("hl7_coverage")
    op.drop_table("hl7_patient")
    op.drop_table("hl7_message")
