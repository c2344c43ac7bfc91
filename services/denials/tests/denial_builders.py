"""What the denials tests share: an adjudication builder, the events fed to the use cases, the actions asked over
HTTP, the outbox read back."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.models import bus
from denials.use_cases.intake import on_adjudicated, on_claim_status, on_reversed
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, ClaimReversedV1, LinePaymentOut
from rcm_shared.unit import Actor, Unit, Units
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

T = {"X-Tenant-ID": "org-1"}


def adj(
    claim_id: str,
    paid: int,
    adjustments: list[tuple[str, str, int, int | None]],
    *,
    charge: int = 10000,
    lines: list[tuple[int, int]] | None = None,
    remarks: list[str] | None = None,
    remittance: str = "R1",
    payer: str = "ACME01",
    status: str | None = None,
) -> ClaimAdjudicatedV1:
    return ClaimAdjudicatedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id=payer,
        payer_claim_control_number="PCCN-" + claim_id,
        status_code=status or ("4" if paid == 0 else "1"),
        charge_cents=charge,
        paid_cents=paid,
        patient_responsibility_cents=0,
        contractual_cents=0,
        adjustments=[AdjustmentOut(group=g, reason=r, amount_cents=a, line_number=ln) for g, r, a, ln in adjustments],
        remarks=remarks or [],
        payment_date=date.today(),
        lines=[
            LinePaymentOut(
                line_number=n, line_control_number=None, procedure_code="99213", charge_cents=c, paid_cents=p
            )
            for n, (c, p) in enumerate(lines or [], start=1)
        ],
    )


def unit_of(conn: AsyncConnection, tenant: str = "org-1", actor: str = "test") -> Unit:
    """A unit on the test's own transaction, under the settings in force (their topic prefix)."""
    return Units.of_service(DenialsSettings(), bus).on(conn, tenant, Actor(actor))


async def feed(client: Any, event: Any, settings: DenialsSettings | None = None) -> list[str]:
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_adjudicated(unit_of(conn), event, default_rules(), env, settings=settings or DenialsSettings())


async def outbox(client: Any, topic: str) -> list[dict[str, Any]]:
    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == topic).order_by(bus.outbox.c.id))
        return [json.loads(r.payload) for r in rows]


async def act(client: Any, denial_id: str, body: dict[str, Any], actor: str = "maria") -> Any:
    return await client.post(f"/v1/denials/{denial_id}/actions", json=body, headers={**T, "X-Actor": actor})


RESOLVED = "denials.denial.resolved"


async def undone(client: Any) -> list[dict[str, Any]]:
    """The undo events denials emitted, in order (they share the resolutions' topic)."""
    return [e for e in await outbox(client, RESOLVED) if "outcome" in e and "days_to_resolve" not in e]


async def status(client: Any, denial_id: str) -> str:
    return str((await client.get(f"/v1/denials/{denial_id}", headers=T)).json()["status"])


async def reverse(client: Any, claim_id: str, original: str, remittance: str = "R2") -> int:
    event = ClaimReversedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id="ACME01",
        payer_claim_control_number="PCCN-" + claim_id,
        reversed_paid_cents=0,
        reversed_charge_cents=-15000,
        original_remittance_id=original,
    )
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_reversed(unit_of(conn), event, env)


async def claim_becomes(client: Any, claim_id: str, state: str) -> None:
    event = ClaimStatusChangedV1(
        claim_id=claim_id, old_state="paid", new_state=state, changed_at="2026-01-05T10:00:00Z"
    )
    env = Envelope.wrap(event, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_claim_status(unit_of(conn), event, env, default_rules())
