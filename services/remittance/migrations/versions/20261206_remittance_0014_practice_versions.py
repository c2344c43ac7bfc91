"""practice_profile keeps every version claims announces (key: tenant and version; statements print the
version in effect on their date); practice_connection keeps every pair ever announced, each one tenant's

Revision ID: remittance_0014
Revises: remittance_0013
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "remittance_0014"
down_revision: str | None = "remittance_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practice_profile", schema=None) as batch_op:
        batch_op.drop_constraint("pk_practice_profile", type_="primary")
        batch_op.create_primary_key("pk_practice_profile", ["tenant_id", "version"])
        batch_op.create_index("ix_practice_profile_tenant_from", ["tenant_id", "effective_from"], unique=False)
    # claims registers a pair for one tenant only (its key): a second row of a pair is a copy, the first kept
    op.execute(
        "DELETE FROM practice_connection WHERE id NOT IN "
        "(SELECT min(id) FROM practice_connection GROUP BY submitter_id, receiver_id)"
    )
    with op.batch_alter_table("practice_connection", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_connection_tenant")
        batch_op.drop_index("ix_practice_connection_ids")
        batch_op.create_index("ux_practice_connection_ids", ["submitter_id", "receiver_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("practice_connection", schema=None) as batch_op:
        batch_op.drop_index("ux_practice_connection_ids")
        batch_op.create_index("ix_practice_connection_ids", ["submitter_id", "receiver_id"], unique=False)
        batch_op.create_index("ix_practice_connection_tenant", ["tenant_id"], unique=False)
    # the latest version of each tenant stays, as remittance_0013 kept it
    op.execute(
        "DELETE FROM practice_profile WHERE version < "
        "(SELECT max(p.version) FROM practice_profile p WHERE p.tenant_id = practice_profile.tenant_id)"
    )
    with op.batch_alter_table("practice_profile", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_profile_tenant_from")
        batch_op.drop_constraint("pk_practice_profile", type_="primary")
        batch_op.create_primary_key("pk_practice_profile", ["tenant_id"])
