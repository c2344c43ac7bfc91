"""next_payer_id of claims entered before claims_0005, read from their documents

``next_payer_id`` (the payer billed after this one adjudicates) is set at charge entry since claims_0005; rows
entered before it have it empty though their document names a secondary payer. The 835 handling reads the
column, not the document, to know whether a secondary claim follows: fill it in the same way charge entry
does (the document's secondary payer, when the primary payer is responsible "P", the model's default).

Revision ID: claims_0010
Revises: claims_0009
Create Date: 2026-11-29 18:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "claims_0010"
down_revision: str | None = "claims_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQL = {
    "postgresql": """
        UPDATE claim SET next_payer_id = document -> 'secondary_payer' ->> 'payer_id'
        WHERE next_payer_id IS NULL
          AND document -> 'secondary_payer' ->> 'payer_id' IS NOT NULL
          AND coalesce(document -> 'payer' ->> 'responsibility', 'P') = 'P'
    """,
    "sqlite": """
        UPDATE claim SET next_payer_id = json_extract(document, '$.secondary_payer.payer_id')
        WHERE next_payer_id IS NULL
          AND json_extract(document, '$.secondary_payer.payer_id') IS NOT NULL
          AND coalesce(json_extract(document, '$.payer.responsibility'), 'P') = 'P'
    """,
}


def upgrade() -> None:
    op.execute(_SQL[op.get_bind().dialect.name])


def downgrade() -> None:
    pass  # the values stay true of the documents; claims_0005's downgrade drops the column
