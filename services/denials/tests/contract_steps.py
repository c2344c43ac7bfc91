"""Steps of the contract and worklist tests: contracts entered over HTTP, claims' lines, 835s and reversals fed
to the use cases as the worker would (tenant ``org-1`` unless told). Their data: ``builders.contracts``."""

from __future__ import annotations

from typing import Any

from builders.events import reversal
from denial_steps import unit_of
from denials.config import DenialsSettings
from denials.domain.medicare import MedicareSchedule
from denials.use_cases import expected
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1


def headers(tenant: str = "org-1", actor: str = "maria") -> dict[str, str]:
    return {"X-Tenant-ID": tenant, "X-Actor": actor}


async def enter(client: Any, body: dict[str, Any], tenant: str = "org-1") -> dict[str, Any]:
    r = await client.post("/v1/contracts", json=body, headers=headers(tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def bill(
    client: Any, event: ClaimStatusChangedV1, tenant: str = "org-1", medicare: MedicareSchedule | None = None
) -> None:
    env = Envelope.wrap(event, source="/claims", tenant_id=tenant)
    async with client.app.state.engine.begin() as conn:
        await expected.on_claim_lines(unit_of(conn, tenant), [(event, env)], medicare, DenialsSettings())


async def adjudicate(
    client: Any,
    event: ClaimAdjudicatedV1,
    tenant: str = "org-1",
    settings: DenialsSettings | None = None,
    medicare: MedicareSchedule | None = None,
) -> None:
    env = Envelope.wrap(event, source="/remittance", tenant_id=tenant)
    async with client.app.state.engine.begin() as conn:
        await expected.on_adjudications(unit_of(conn, tenant), [(event, env)], medicare, settings or DenialsSettings())


async def reverse(client: Any, claim_id: str, original: str, tenant: str = "org-1") -> int:
    event = reversal(claim_id, original, remittance="R9")
    env = Envelope.wrap(event, source="/remittance", tenant_id=tenant)
    async with client.app.state.engine.begin() as conn:
        return await expected.on_reversed(unit_of(conn, tenant), event, env)


async def worklist(client: Any, tenant: str = "org-1", **params: Any) -> dict[str, Any]:
    r = await client.get("/v1/underpayments", params=params, headers=headers(tenant))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def expected_payment(client: Any, claim_id: str, tenant: str = "org-1") -> dict[str, Any]:
    r = await client.get(f"/v1/claims/{claim_id}/expected-payment", headers=headers(tenant))
    assert r.status_code == 200, r.text
    return dict(r.json())
