"""Steps of the remittance tests: a claim billed (its status event fed to the use case), an 835 ingested from
a file, what the API and the database then hold. Their data: ``builders`` (``builders.x835`` for the 835s)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from builders import T
from builders.x835 import PAYER, US
from rcm_shared.db import session_factory
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1, PracticeChangedV1
from remittance.models import ledger_entry
from remittance.use_cases import service_units
from remittance.use_cases.billed_claims import on_claim_status_changed
from remittance.use_cases.ingestion import ingest_835
from sqlalchemy import func, select

X12 = {"content-type": "application/edi-x12", **T}
TENANT = "org-1"
# The deployment's own (submitter_id, receiver_id) in these tests: the builders' 835s are sent by the payer's
# id to the clinic's, so a file of theirs in the inbound folder is the default tenant's.
HOME = (US.id, PAYER.id)


async def billed(
    engine: Any, claim_id: str, account: str, state: str = "submitted", tenant: str = TENANT, **kw: Any
) -> None:
    event = ClaimStatusChangedV1(
        claim_id=claim_id,
        old_state=None,
        new_state=state,
        changed_at=datetime.now(UTC),
        payer_id=kw.pop("payer_id", "ACME01"),
        charge_cents=kw.pop("charge_cents", 12500),
        patient_account=account,
        lines=[
            BilledLine(
                line_number=1,
                line_control_number=f"{claim_id}-1",
                procedure_code=kw.pop("code", "99213"),
                service_date=date(2026, 10, 1),
                units="1",
                charge_cents=12500,
                description=kw.pop("description", None),
            )
        ],
        **kw,
    )
    async with engine.begin() as conn:
        await on_claim_status_changed(conn, tenant, event)


async def account(client: Any, account_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/patient-accounts/{account_id}", headers=T)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def postings(client: Any, claim_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/claims/{claim_id}/postings", headers=T)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def ingest(engine: Any, data: bytes, tmp_path: Path, name: str = "in.835", tenant: str = TENANT) -> list[Any]:
    path = tmp_path / name
    path.write_bytes(data)
    return await ingest_835(service_units(engine), path, tenant=tenant, batch_size=2)


async def rows(engine: Any, table: Any, *where: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(table).where(*where)))


async def count(engine: Any, table: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def ledger_totals(engine: Any, claim_id: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for e in await rows(engine, ledger_entry, ledger_entry.c.claim_id == claim_id):
        totals[e.entry_type] = totals.get(e.entry_type, 0) + e.amount_cents
    return totals


async def announce(engine: Any, event: PracticeChangedV1, tenant: str | None = None) -> None:
    """A practice profile as the worker's consumer hands it over: through the registry, in one transaction."""
    from remittance.consumers import registry

    handler = registry.get(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
    assert handler is not None, "remittance does not read practice.changed"
    envelope = Envelope.wrap(event, source="/claims", tenant_id=tenant or event.tenant_id)
    async with session_factory(engine)() as session, session.begin():
        await handler(session, envelope)
