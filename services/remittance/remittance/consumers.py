"""Event type -> handler table of the remittance worker."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.denials import DenialMoveUndoneV1, DenialResolvedV1
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.config import get_settings
from remittance.denial_postings import on_denial_move_undone, on_denial_resolved
from remittance.handlers import on_claim_status_changes
from remittance.patients import outbox

registry = HandlerRegistry()


@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    connection = await session.connection()
    events = [(envelope.tenantid, envelope.payload_as(ClaimStatusChangedV1)) for envelope in envelopes]
    await on_claim_status_changes(connection, events, get_settings().kafka.topic_prefix)


@registry.on(DenialResolvedV1.event_type, DenialResolvedV1.schema_version)
async def denial_resolved(session: AsyncSession, envelope: Envelope) -> None:
    """A denial billed to the patient or written off: its money leaves insurance A/R."""
    await on_denial_resolved(
        await session.connection(),
        outbox(get_settings().kafka.topic_prefix),
        envelope.tenantid,
        envelope.payload_as(DenialResolvedV1),
    )


@registry.on(DenialMoveUndoneV1.event_type, DenialMoveUndoneV1.schema_version)
async def denial_move_undone(session: AsyncSession, envelope: Envelope) -> None:
    """The payer's later word took a denial's move back (denials decides it): the move's postings are undone."""
    await on_denial_move_undone(
        await session.connection(),
        outbox(get_settings().kafka.topic_prefix),
        envelope.tenantid,
        envelope.payload_as(DenialMoveUndoneV1),
    )
