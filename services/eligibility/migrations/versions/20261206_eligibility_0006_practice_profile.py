"""practice profile: each tenant's billing provider, from the claims service's practice.changed events

Revision ID: eligibility_0006
Revises: eligibility_0005
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_0006"
down_revision: str | None = "eligibility_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_profile",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("provider_npi", sa.String(length=10), nullable=False),
        sa.Column("provider_name", sa.String(length=60), nullable=False),
        sa.Column("provider_first_name", sa.String(length=35), nullable=True),
        sa.Column("provider_is_person", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "version", name=op.f("pk_practice_profile")),
    )


def downgrade() -> None:
    op.drop_table("practice_profile")
