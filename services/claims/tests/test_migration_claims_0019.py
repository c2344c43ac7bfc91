"""Migration claims_0019 (master data version numbers): rows written under the old rule (each version after the
last, the one before closed the day before) are numbered by their start, so each date reads what it read
before; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from claims.models import charge_master_item, practice_provider
from rcm_shared.db import create_engine
from rcm_shared.testing import alembic_config, need_postgres, unique
from sqlalchemy import select, text

CLAIMS = Path(__file__).resolve().parents[1]
# Dates pinned: the versions are compared with each other, never with today.
JAN, JUL, OCT = date(2025, 1, 1), date(2025, 7, 1), date(2025, 10, 1)


def _values(**values: Any) -> dict[str, Any]:
    return {**values, "created_at": datetime.now(UTC), "created_by": "tester"}


async def test_claims_0019_numbers_the_versions_written_before_it_by_their_start(
    backend: str, tmp_path: Path, postgres_base_url: str | None
) -> None:
    if backend == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}", "claims"
    else:
        url, schema = need_postgres(postgres_base_url), unique("claims_")
    config = alembic_config(CLAIMS, url, schema)
    await asyncio.to_thread(command.upgrade, config, "claims_0018")
    providers = [  # written in another order than their starts; two tenants with the same NPI
        _values(
            tenant_id="org-1", id="p3", npi="1679576722", name="Smith-Jones", effective_from=OCT, effective_to=None
        ),
        _values(
            tenant_id="org-1",
            id="p1",
            npi="1679576722",
            name="Smith",
            effective_from=JAN,
            effective_to=date(2025, 6, 30),
        ),
        _values(
            tenant_id="org-1",
            id="p2",
            npi="1679576722",
            name="Smyth",
            effective_from=JUL,
            effective_to=date(2025, 9, 30),
        ),
        _values(tenant_id="org-2", id="q1", npi="1679576722", name="Smith", effective_from=JUL, effective_to=None),
    ]
    items = [
        _values(
            tenant_id="org-1",
            id="b",
            code="99213",
            modifiers="",
            description="Visit",
            price_cents=9000,
            effective_from=JUL,
            effective_to=None,
        ),
        _values(
            tenant_id="org-1",
            id="a",
            code="99213",
            modifiers="",
            description="Visit",
            price_cents=8000,
            effective_from=JAN,
            effective_to=date(2025, 6, 30),
        ),
        _values(
            tenant_id="org-1",
            id="c",
            code="99213",
            modifiers="25",
            description="Visit",
            price_cents=9500,
            effective_from=JAN,
            effective_to=None,
        ),
    ]
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            if backend == "postgres":  # the engine maps the models' names onto the schema, not raw SQL's
                await conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            for table, rows in (("practice_provider", providers), ("charge_master_item", items)):
                columns = list(rows[0])
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                await conn.execute(text(sql), rows)
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            p = practice_provider.c
            numbered = [tuple(r) for r in await conn.execute(select(p.id, p.version).order_by(p.id))]
            c = charge_master_item.c
            priced = [tuple(r) for r in await conn.execute(select(c.id, c.version).order_by(c.id))]
    finally:
        if backend == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
    assert numbered == [("p1", 1), ("p2", 2), ("p3", 3), ("q1", 1)]
    assert priced == [("a", 1), ("b", 2), ("c", 1)]
