"""Event type -> handler table of the remittance worker."""

from __future__ import annotations

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.handlers import on_claim_status_changed

registry = HandlerRegistry()


@registry.on(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status_changed(session: AsyncSession, envelope: Envelope) -> None:
    connection = await session.connection()
    await on_claim_status_changed(connection, envelope.tenantid, envelope.payload_as(ClaimStatusChangedV1))
