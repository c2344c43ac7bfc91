"""master data versions numbered per key: any start date, the newest version in effect wins

The providers, service facilities, payer enrollments and charge-master items get a version number per key
(NPI, facility id, payer id, code and modifiers), unique instead of the start date: a version may now start
on any date (backdated, or a same-day correction), and on a date the newest version whose window holds it
applies. Existing rows are numbered by their start date, as the old rule (each version after the last)
ordered them.

Revision ID: claims_0019
Revises: claims_0018
Create Date: 2026-12-06 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "claims_0019"
down_revision: str | None = "claims_0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its key columns
KEYS = {
    "practice_provider": ("npi",),
    "service_facility": ("facility_id",),
    "payer_enrollment": ("payer_id",),
    "charge_master_item": ("code", "modifiers"),
}
# the unique index on the start date each table had (the charge master had none)
OLD_UNIQUE = {
    "practice_provider": "ix_practice_provider_version",
    "service_facility": "ix_service_facility_version",
    "payer_enrollment": "ix_payer_enrollment_version",
}


def _number(table: str, keys: tuple[str, ...]) -> None:
    """Each row's number among its key's rows by start date (then id: the charge master allowed equal starts)."""
    same = " AND ".join(f"o.{k} = {table}.{k}" for k in ("tenant_id", *keys))
    op.execute(
        f"UPDATE {table} SET version = (SELECT count(*) FROM {table} o WHERE {same} AND "
        f"(o.effective_from < {table}.effective_from OR "
        f"(o.effective_from = {table}.effective_from AND o.id <= {table}.id)))"
    )


def upgrade() -> None:
    for table, keys in KEYS.items():
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=True))
        _number(table, keys)
        with op.batch_alter_table(table) as batch:
            batch.alter_column("version", existing_type=sa.Integer(), nullable=False)
            if table in OLD_UNIQUE:
                batch.drop_index(OLD_UNIQUE[table])
            name = OLD_UNIQUE.get(table, f"ix_{table}_version")
            batch.create_index(name, ["tenant_id", *keys, "version"], unique=True)


def downgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(OLD_UNIQUE.get(table, f"ix_{table}_version"))
            if table in OLD_UNIQUE:  # fails on a key with two versions from one date, which only 0019 allows
                batch.create_index(OLD_UNIQUE[table], ["tenant_id", *keys, "effective_from"], unique=True)
            batch.drop_column("version")
