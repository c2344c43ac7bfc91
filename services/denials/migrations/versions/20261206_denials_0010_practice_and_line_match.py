"""practice profiles for letters, 835 lines matched to billed lines, a lock row per claim

Billed lines keep their control number (REF*6R), place of service and the reason an odd line is not priced
(expected_line); the 835's lines keep theirs and their code, and once compared the billed line they answer,
how it was found and why one was not (line_adjudication); the lines path and the 835 path lock a claim's row
(expected_claim) before reading each other's rows; each tenant's practice profile by version
(practice_profile) heads and signs its appeal letters. The 835 lines compared before this revision were
matched by position: they keep that as their billed line.

Revision ID: denials_0010
Revises: denials_0009
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "denials_0010"
down_revision: str | None = "denials_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("expected_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_control_number", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("place_of_service", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("problem", sa.Text(), nullable=True))
    with op.batch_alter_table("line_adjudication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_control_number", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("procedure_code", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("billed_line_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("match", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    line_adjudication = sa.table(
        "line_adjudication",
        sa.column("compared", sa.Integer()),
        sa.column("line_number", sa.Integer()),
        sa.column("billed_line_number", sa.Integer()),
        sa.column("match", sa.String()),
    )
    op.execute(
        line_adjudication.update()
        .where(line_adjudication.c.compared == 1)
        .values(billed_line_number=line_adjudication.c.line_number, match="position")
    )
    op.create_table(
        "expected_claim",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "claim_id", name=op.f("pk_expected_claim")),
    )
    op.create_table(
        "practice_profile",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("statement_name", sa.Text(), nullable=False),
        sa.Column("statement_address", sa.JSON(), nullable=False),
        sa.Column("statement_phone", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_profile")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_practice_profile_tenant_id_version")),
    )


def downgrade() -> None:
    op.drop_table("practice_profile")
    op.drop_table("expected_claim")
    with op.batch_alter_table("line_adjudication", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("match")
        batch_op.drop_column("billed_line_number")
        batch_op.drop_column("procedure_code")
        batch_op.drop_column("line_control_number")
    with op.batch_alter_table("expected_line", schema=None) as batch_op:
        batch_op.drop_column("problem")
        batch_op.drop_column("place_of_service")
        batch_op.drop_column("line_control_number")
