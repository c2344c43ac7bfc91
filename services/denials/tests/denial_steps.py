"""Steps of the denials tests: events fed to the use cases, the actions asked over HTTP, the outbox read back.
Their data (``adj``, ``reversal``...): ``builders.events``."""

from __future__ import annotations

import json
from typing import Any

from builders import T
from builders.events import reversal, status_changed
from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.models import bus
from denials.use_cases.intake import on_adjudicated, on_claim_status, on_reversed
from rcm_shared.events import Envelope
from rcm_shared.unit import Actor, Unit, Units
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection


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
    event = reversal(claim_id, original, remittance=remittance, charge=15000)
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_reversed(unit_of(conn), event, env)


async def claim_becomes(client: Any, claim_id: str, state: str) -> None:
    event = status_changed(claim_id, state)
    env = Envelope.wrap(event, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_claim_status(unit_of(conn), event, env, default_rules())
