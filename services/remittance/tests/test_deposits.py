"""Bank deposits matched to the remittance with the same trace number and amount, and reconciled."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from builders import T
from builders.x835 import standard_file
from remittance.repository.deposits import DepositRepository
from remittance.use_cases import service_units
from remittance.use_cases.deposits import record_deposit
from remittance_steps import TENANT, X12, ingest


async def test_deposit_endpoints(client: Any) -> None:
    await client.post("/v1/remittances", content=standard_file(), headers=X12)
    r = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 13500, "deposit_date": "2026-11-21"}, headers=T
    )
    assert r.status_code == 201 and r.json()["remittance_id"] is not None
    again = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 13500, "deposit_date": "2026-11-21"}, headers=T
    )
    assert again.status_code == 200
    conflict = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 1, "deposit_date": "2026-11-21"}, headers=T
    )
    assert conflict.status_code == 409
    rec = (await client.get("/v1/deposits/reconciliation", headers=X12)).json()
    assert rec == {"unmatched_deposits": [], "unmatched_remittances": []}


async def test_deposits_match_and_reconcile(engine: Any, tmp_path: Path) -> None:
    early = await record_deposit(
        service_units(engine),
        tenant=TENANT,
        trace_number="EFT0001",
        amount_cents=13500,
        deposit_date=date(2026, 11, 21),
    )
    assert early.remittance_id is None  # the 835 has not arrived yet
    (posted,) = await ingest(engine, standard_file(), tmp_path)
    stray = await record_deposit(
        service_units(engine), tenant=TENANT, trace_number="EFT9999", amount_cents=100, deposit_date=date(2026, 11, 21)
    )
    (unmatched_835,) = await ingest(engine, standard_file(trace="EFT0002", isa=2), tmp_path, "b.835")
    async with engine.connect() as conn:
        deposits, remits = await DepositRepository(conn, TENANT).reconciliation()
    assert [d.trace_number for d in deposits] == [stray.trace_number]
    assert [r.id for r in remits] == [unmatched_835.remittance_id]
    assert posted.remittance_id not in [r.id for r in remits]
