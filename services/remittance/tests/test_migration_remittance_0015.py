"""Migration remittance_0015 (what the FHIR API reads): a claim payment posted before it changed last when it
was posted, or when the payer's reversal of it was; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from rcm_shared.db import create_engine
from rcm_shared.testing import alembic_config, need_postgres, unique
from remittance.models import claim_payment, metadata, remittance
from sqlalchemy import insert, select, text

REMITTANCE = Path(__file__).resolve().parents[1]
POSTED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # pinned: the rows are compared with each other only
REVERSED = POSTED + timedelta(days=12)


def _remittance(ident: str, posted: datetime) -> dict[str, Any]:
    return {
        "id": ident,
        "tenant_id": "org-1",
        "status": "posted",
        "hold_reasons": [],
        "payer_id": "ACME01",
        "payer_name": "ACME",
        "payee_id": "1234567893",
        "payee_name": "CLINIC",
        "trace_number": ident,
        "trace_originator": "1512345678",
        "payment_method": "ACH",
        "handling_code": "I",
        "credit_debit": "C",
        "total_paid_cents": 0,
        "plb_total_cents": 0,
        "sender_id": "ACMEPAYER",
        "interchange_control": ident[-9:],
        "transaction_control": "0001",
        "claim_count": 1,
        "file_sha256": "0" * 64,
        "received_at": posted,
        "posted_at": posted,
    }


def _payment(ident: str, remittance_id: str, posted: datetime, **values: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "tenant_id": "org-1",
        "remittance_id": remittance_id,
        "claim_id": "PCN0001",
        "payer_claim_control_number": "ICN1001",
        "status_code": "1",
        "charge_cents": 12500,
        "paid_cents": 8000,
        "patient_responsibility_cents": 2000,
        "filing_indicator": "12",
        "remarks": "",
        "matched": True,
        "posted_at": posted,
        "reversal_of": None,
        "reversed_by": None,
        **values,
    }


async def test_remittance_0015_dates_each_payment_by_its_posting_or_its_reversal(
    backend: str, tmp_path: Path, postgres_base_url: str | None
) -> None:
    if backend == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'remittance.db'}", "remittance"
    else:
        url, schema = need_postgres(postgres_base_url), unique("remittance_")
    config = alembic_config(REMITTANCE, url, schema)
    await asyncio.to_thread(command.upgrade, config, "remittance_0014")
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(remittance), [_remittance("R1", POSTED), _remittance("R2", REVERSED)])
            await conn.execute(
                insert(claim_payment),
                [
                    _payment("original", "R1", POSTED, reversed_by="reversal"),
                    _payment("other", "R1", POSTED, claim_id="PCN0002"),
                    _payment("reversal", "R2", REVERSED, status_code="22", paid_cents=-8000, reversal_of="original"),
                ],
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            cp = claim_payment.c
            dated = {ident: moment for ident, moment in await conn.execute(select(cp.id, cp.updated_at))}
    finally:
        if backend == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
    assert dated == {"original": REVERSED, "other": POSTED, "reversal": REVERSED}


async def test_remittance_0015_downgrades_with_payments_on_file_and_upgrades_again(
    backend: str, tmp_path: Path, postgres_base_url: str | None
) -> None:
    # claim_payment refers to remittance: on SQLite, dropping a remittance column may not rebuild that table
    if backend == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'remittance.db'}", "remittance"
    else:
        url, schema = need_postgres(postgres_base_url), unique("remittance_")
    config = alembic_config(REMITTANCE, url, schema)
    await asyncio.to_thread(command.upgrade, config, "remittance_0014")
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(remittance), [_remittance("R1", POSTED), _remittance("R2", REVERSED)])
            await conn.execute(
                insert(claim_payment),
                [
                    _payment("original", "R1", POSTED, reversed_by="reversal"),
                    _payment("reversal", "R2", REVERSED, status_code="22", paid_cents=-8000, reversal_of="original"),
                ],
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        await asyncio.to_thread(command.downgrade, config, "remittance_0014")
        async with engine.connect() as conn:
            kept = set(await conn.scalars(select(claim_payment.c.id)))
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            cp = claim_payment.c
            dated = {ident: moment for ident, moment in await conn.execute(select(cp.id, cp.updated_at))}
            remittances = set(await conn.scalars(select(remittance.c.id)))
            if backend == "postgres":  # the engine maps names onto its schema; reflection reads the search path
                await conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    finally:
        if backend == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
    assert kept == {"original", "reversal"}
    assert remittances == {"R1", "R2"}
    assert dated == {"original": REVERSED, "reversal": REVERSED}
    assert diff == []
