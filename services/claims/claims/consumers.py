"""Event type -> handler table of the claims worker."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry, PermanentError
from rcm_shared.errors import NotFound
from rcm_shared.events import Envelope
from rcm_shared.payloads.denials import AppealSentV1, DenialMoveUndoneV1, DenialResolvedV1, ResubmissionRequestedV1
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.tracing import handling
from sqlalchemy.ext.asyncio import AsyncSession

from claims.config import get_settings
from claims.domain import state as st
from claims.handlers import (
    Actor,
    ClaimsUnit,
    Refused,
    correct_claim,
    on_adjudicated_many,
    on_appeal_sent,
    on_denial_move_undone,
    on_denial_resolved,
    on_eligibility,
    on_reversed,
)
from claims.resources import default_resources
from claims.submission import prepare

registry = HandlerRegistry()


async def _unit(session: AsyncSession, envelope: Envelope) -> ClaimsUnit:
    return ClaimsUnit(await session.connection(), envelope.tenantid, get_settings().kafka.topic_prefix)


def _actor(envelope: Envelope) -> Actor:
    return Actor(
        f"event:{envelope.type}:{envelope.id}", envelope.correlationid or envelope.id, envelope.id, handling(envelope)
    )


@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[ClaimAdjudicatedV1, Actor]]] = {}
    for envelope in envelopes:  # tenants never share a claim: each tenant's events in their order
        by_tenant.setdefault(envelope.tenantid, []).append((envelope.payload_as(ClaimAdjudicatedV1), _actor(envelope)))
    connection = await session.connection()
    for tenant, items in by_tenant.items():
        unit = ClaimsUnit(connection, tenant, get_settings().kafka.topic_prefix)
        await on_adjudicated_many(unit, items, default_resources().context())


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    await on_reversed(await _unit(session, envelope), envelope.payload_as(ClaimReversedV1), _actor(envelope))


@registry.on(EligibilityCheckCompletedV1.event_type, EligibilityCheckCompletedV1.schema_version)
async def eligibility(session: AsyncSession, envelope: Envelope) -> None:
    await on_eligibility(
        await session.connection(), envelope.tenantid, envelope.payload_as(EligibilityCheckCompletedV1)
    )


@registry.on(ResubmissionRequestedV1.event_type, ResubmissionRequestedV1.schema_version)
async def resubmission(session: AsyncSession, envelope: Envelope) -> None:
    """Denials asks for a corrected claim: build the frequency-7 claim, and queue it when it scrubs clean."""
    event = envelope.payload_as(ResubmissionRequestedV1)
    unit = await _unit(session, envelope)
    actor = _actor(envelope)
    try:
        new_id = await correct_claim(
            unit, event.claim_id, default_resources().context(), actor, correction=event.correction
        )
    except NotFound as exc:
        raise PermanentError(str(exc)) from exc
    except (st.IllegalTransition, Refused, ValueError) as exc:
        raise PermanentError(f"cannot resubmit claim {event.claim_id}: {exc}") from exc
    settings = get_settings()
    if settings.auto_submit_resubmissions and (await unit.get(new_id)).state == st.READY:
        # Delivered by the worker's delivery loop after this transaction commits.
        await prepare(unit, settings, [new_id], actor, settings.clearinghouse_adapter)


@registry.on(DenialResolvedV1.event_type, DenialResolvedV1.schema_version)
async def denial_resolved(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _unit(session, envelope)
    await on_denial_resolved(unit, envelope.payload_as(DenialResolvedV1), _actor(envelope))


@registry.on(DenialMoveUndoneV1.event_type, DenialMoveUndoneV1.schema_version)
async def denial_move_undone(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _unit(session, envelope)
    await on_denial_move_undone(unit, envelope.payload_as(DenialMoveUndoneV1), _actor(envelope))


@registry.on(AppealSentV1.event_type, AppealSentV1.schema_version)
async def appeal_sent(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _unit(session, envelope)
    await on_appeal_sent(unit, envelope.payload_as(AppealSentV1), _actor(envelope))
