"""Event type -> handler table of the remittance worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.denials import DenialResolvedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.config import get_settings
from remittance.denial_postings import on_denial_resolved, undo_denial_postings
from remittance.handlers import on_claim_status_changes
from remittance.patients import outbox

registry = HandlerRegistry()


@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status_changed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    connection = await session.connection()
    events = [(envelope.tenantid, envelope.payload_as(ClaimStatusChangedV1)) for envelope in envelopes]
    await on_claim_status_changes(connection, events, get_settings().kafka.topic_prefix)
    # a claim voided or replaced: what the denials work moved on it is undone
    superseded: dict[str, list[tuple[str, datetime]]] = {}
    for tenant, event in events:
        if event.new_state in ("void", "corrected"):
            superseded.setdefault(tenant, []).append((event.claim_id, event.changed_at))
    for tenant, answers in superseded.items():
        await undo_denial_postings(connection, outbox(get_settings().kafka.topic_prefix), tenant, answers)


def _answers_again(envelope: Envelope) -> bool:
    """A payment or a reversal: the payer's word on a claim, which replaces what a denial's money stood on."""
    if envelope.type == ClaimReversedV1.event_type:
        return True
    return bool(envelope.payload_as(ClaimAdjudicatedV1).paid_cents)


# remittance reads its own announcements of the payer's answers (in their order per claim), to undo the
# denials work's postings on claims answered again; the rest (denials paid nothing) is passed over
@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version, wants=_answers_again)
async def claim_adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    await _undo(session, envelopes)


@registry.on_batch(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def claim_reversed(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    await _undo(session, envelopes)


async def _undo(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[str, datetime]]] = {}
    for envelope in envelopes:
        claim_id = str(envelope.data["claim_id"])
        by_tenant.setdefault(envelope.tenantid, []).append((claim_id, envelope.time))
    connection = await session.connection()
    for tenant, answers in by_tenant.items():
        await undo_denial_postings(connection, outbox(get_settings().kafka.topic_prefix), tenant, answers)


@registry.on(DenialResolvedV1.event_type, DenialResolvedV1.schema_version)
async def denial_resolved(session: AsyncSession, envelope: Envelope) -> None:
    """A denial billed to the patient or written off: its money leaves insurance A/R."""
    await on_denial_resolved(
        await session.connection(),
        outbox(get_settings().kafka.topic_prefix),
        envelope.tenantid,
        envelope.payload_as(DenialResolvedV1),
    )
