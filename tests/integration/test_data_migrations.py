"""Migrations that change data, not only the schema: rows written before them come out as the code now
writes them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from claims.models import claim
from rcm_shared.db import create_engine
from rcm_shared.testing import alembic_config, unique
from sqlalchemy import insert, select, text

CLAIMS = Path(__file__).resolve().parents[2] / "services" / "claims"


def _claim(claim_id: str, document: dict[str, Any], next_payer_id: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": claim_id,
        "tenant_id": "org-1",
        "kind": "P",
        "state": "submitted",
        "frequency": "1",
        "payer_id": "PRIMARY1",
        "member_id": "M1",
        "service_from": date(2026, 10, 1),
        "service_to": date(2026, 10, 1),
        "charge_cents": 10000,
        "paid_cents": 0,
        "patient_responsibility_cents": 0,
        "duplicate_key": claim_id,
        "document": document,
        "edits": [],
        "status_detail": {},
        "next_payer_id": next_payer_id,
        "created_at": now,
        "updated_at": now,
    }


async def test_claims_0010_fills_the_next_payer_of_claims_entered_before_the_column(
    backend: str, tmp_path: Path, postgres_base_url: str | None
) -> None:
    from rcm_shared.testing import need_postgres

    if backend == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}", "claims"
    else:
        url, schema = need_postgres(postgres_base_url), unique("claims_")
    config = alembic_config(CLAIMS, url, schema)
    await asyncio.to_thread(command.upgrade, config, "claims_0009")
    secondary = {"payer_id": "SECOND1", "name": "Second Payer", "responsibility": "S"}
    rows = [
        _claim(
            "WITHSECONDARY", {"payer": {"payer_id": "PRIMARY1", "responsibility": "P"}, "secondary_payer": secondary}
        ),
        _claim("NORESPONSIBILITY", {"payer": {"payer_id": "PRIMARY1"}, "secondary_payer": secondary}),  # "P"
        _claim(
            "PRIMARYISSECOND", {"payer": {"payer_id": "PRIMARY1", "responsibility": "S"}, "secondary_payer": secondary}
        ),
        _claim("NOSECONDARY", {"payer": {"payer_id": "PRIMARY1", "responsibility": "P"}, "secondary_payer": None}),
        _claim("NOKEY", {"payer": {"payer_id": "PRIMARY1", "responsibility": "P"}}),
        _claim("ALREADYSET", {"payer": {"payer_id": "PRIMARY1"}, "secondary_payer": secondary}, "OTHER9"),
    ]
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(claim), rows)
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            found = dict((await conn.execute(select(claim.c.id, claim.c.next_payer_id))).tuples().all())
    finally:
        if backend == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
    assert found == {
        "WITHSECONDARY": "SECOND1",
        "NORESPONSIBILITY": "SECOND1",
        "PRIMARYISSECOND": None,
        "NOSECONDARY": None,
        "NOKEY": None,
        "ALREADYSET": "OTHER9",
    }
