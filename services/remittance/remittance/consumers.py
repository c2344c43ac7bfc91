"""Event type -> handler table of the remittance worker."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.config import get_settings
from remittance.handlers import on_claim_status_changes

registry = HandlerRegistry()


@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    connection = await session.connection()
    await on_claim_status_changes(
        connection,
        [(envelope.tenantid, envelope.payload_as(ClaimStatusChangedV1)) for envelope in envelopes],
        get_settings().kafka.topic_prefix,
    )
