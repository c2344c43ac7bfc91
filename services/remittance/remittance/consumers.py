"""Event type -> use case table of the remittance worker."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1, PracticeChangedV1
from rcm_shared.payloads.denials import DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.config import get_settings
from remittance.models import bus
from remittance.use_cases.billed_claims import on_claim_status_changes
from remittance.use_cases.denial_postings import on_denial_move_undone, on_denial_resolved
from remittance.use_cases.practice import on_practice_changed

registry = HandlerRegistry()


def _units() -> Units:
    """The service's units under the topic prefix of the settings in force."""
    return Units.of_service(get_settings(), bus)


@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    events = [(envelope.tenantid, envelope.payload_as(ClaimStatusChangedV1)) for envelope in envelopes]
    await on_claim_status_changes(await session.connection(), events, get_settings().kafka.topic_prefix)


@registry.on(DenialResolvedV1.event_type, DenialResolvedV1.schema_version)
async def denial_resolved(session: AsyncSession, envelope: Envelope) -> None:
    """A denial billed to the patient or written off: its money leaves insurance A/R."""
    await on_denial_resolved(await _units().for_event(session, envelope), envelope.payload_as(DenialResolvedV1))


@registry.on(DenialMoveUndoneV1.event_type, DenialMoveUndoneV1.schema_version)
async def denial_move_undone(session: AsyncSession, envelope: Envelope) -> None:
    """The payer's later word took a denial's move back (denials decides it): the move's postings are undone."""
    await on_denial_move_undone(await _units().for_event(session, envelope), envelope.payload_as(DenialMoveUndoneV1))


@registry.on(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
async def practice_changed(session: AsyncSession, envelope: Envelope) -> None:
    """A tenant's practice profile: statements print its header, inbound 835s are routed by its connections."""
    await on_practice_changed(await _units().for_event(session, envelope), envelope.payload_as(PracticeChangedV1))
