"""payer contracts, expected payment per claim line, and the underpayment/overpayment worklist

A contract per payer (and plan) changes only by a new version (contract_version) with its fee lines
(contract_fee_line); each billed line is priced under the version in effect on its service date
(expected_line); each 835 line is kept to be held against it (line_adjudication); a variance beyond the
tolerance is an item of the worklist (payment_variance) with its history (payment_variance_event).

Revision ID: denials_0009
Revises: denials_0008
Create Date: 2026-12-06 06:03:32
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "denials_0009"
down_revision: str | None = "denials_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
        sa.UniqueConstraint("tenant_id", "payer_id", "plan", name=op.f("uq_contract_tenant_id_payer_id_plan")),
    )
    op.create_table(
        "contract_fee_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("modifier", sa.String(length=2), nullable=False),
        sa.Column("rate_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_fee_line")),
        sa.UniqueConstraint(
            "version_id", "code", "modifier", name=op.f("uq_contract_fee_line_version_id_code_modifier")
        ),
    )
    op.create_table(
        "contract_version",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("default_rule", sa.String(length=24), nullable=False),
        sa.Column("default_percent", sa.String(length=16), nullable=False),
        sa.Column("medicare_locality", sa.String(length=12), nullable=True),
        sa.Column("multiple_procedure", sa.Integer(), nullable=False),
        sa.Column("bilateral_percent", sa.String(length=16), nullable=False),
        sa.Column("lesser_of_charge", sa.Integer(), nullable=False),
        sa.Column("professional_component_percent", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_version")),
        sa.UniqueConstraint("contract_id", "version", name=op.f("uq_contract_version_contract_id_version")),
    )
    with op.batch_alter_table("contract_version", schema=None) as batch_op:
        batch_op.create_index("ix_contract_version_tenant_contract", ["tenant_id", "contract_id"], unique=False)

    op.create_table(
        "expected_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("modifiers", sa.String(length=11), nullable=False),
        sa.Column("units", sa.String(length=16), nullable=False),
        sa.Column("charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=True),
        sa.Column("version_id", sa.String(length=36), nullable=True),
        sa.Column("contract_version", sa.Integer(), nullable=True),
        sa.Column("expected_allowed_cents", sa.BigInteger(), nullable=True),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("fee_line", sa.JSON(), nullable=True),
        sa.Column("priced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expected_line")),
        sa.UniqueConstraint(
            "tenant_id", "claim_id", "line_number", name=op.f("uq_expected_line_tenant_id_claim_id_line_number")
        ),
    )
    op.create_table(
        "line_adjudication",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("remittance_id", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("allowed_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("patient_cents", sa.BigInteger(), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("expected_allowed_cents", sa.BigInteger(), nullable=True),
        sa.Column("reversed", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_adjudication")),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "remittance_id",
            "line_number",
            name=op.f("uq_line_adjudication_tenant_id_claim_id_remittance_id_line_number"),
        ),
    )
    op.create_table(
        "payment_variance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("contract_version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("modifiers", sa.String(length=11), nullable=False),
        sa.Column("units", sa.String(length=16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("cause", sa.String(length=24), nullable=False),
        sa.Column("expected_allowed_cents", sa.BigInteger(), nullable=False),
        sa.Column("allowed_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("fee_line", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("letter_text", sa.Text(), nullable=True),
        sa.Column("adjusted_version_id", sa.String(length=36), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_variance")),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "line_number",
            "remittance_id",
            name=op.f("uq_payment_variance_tenant_id_claim_id_line_number_remittance_id"),
        ),
    )
    with op.batch_alter_table("payment_variance", schema=None) as batch_op:
        batch_op.create_index("ix_payment_variance_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "payment_variance_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("variance_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_variance_event")),
    )
    with op.batch_alter_table("payment_variance_event", schema=None) as batch_op:
        batch_op.create_index("ix_payment_variance_event_variance", ["variance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_variance_event", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_variance_event_variance")

    op.drop_table("payment_variance_event")
    with op.batch_alter_table("payment_variance", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_variance_tenant_status")

    op.drop_table("payment_variance")
    op.drop_table("line_adjudication")
    op.drop_table("expected_line")
    with op.batch_alter_table("contract_version", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_version_tenant_contract")

    op.drop_table("contract_version")
    op.drop_table("contract_fee_line")
    op.drop_table("contract")
