"""Event type -> use case table of the claims worker: each handler opens the unit of its event (the event's
tenant, the event as the actor) and calls one use case."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry, PermanentError
from rcm_shared.errors import NotFound
from rcm_shared.events import Envelope
from rcm_shared.payloads.denials import AppealSentV1, DenialMoveUndoneV1, DenialResolvedV1, ResubmissionRequestedV1
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Actor, Unit, Units
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.scrub_resources import default_resources
from claims.config import get_settings
from claims.models import bus
from claims.use_cases.adjudication import on_adjudicated_many, on_reversed
from claims.use_cases.corrections import request_resubmission
from claims.use_cases.denial_outcomes import on_appeal_sent, on_denial_move_undone, on_denial_resolved
from claims.use_cases.eligibility import on_eligibility

registry = HandlerRegistry()


def _units() -> Units:
    return Units.of_service(get_settings(), bus)  # the settings of now: tests change the topic prefix


async def _unit(session: AsyncSession, envelope: Envelope) -> Unit:
    return await _units().for_event(session, envelope)


@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[ClaimAdjudicatedV1, Actor]]] = {}
    for envelope in envelopes:  # tenants never share a claim: each tenant's events in their order
        event = envelope.payload_as(ClaimAdjudicatedV1)
        by_tenant.setdefault(envelope.tenantid, []).append((event, Actor.of_event(envelope)))
    connection = await session.connection()
    units = _units()
    for tenant, items in by_tenant.items():
        unit = units.on(connection, tenant, items[0][1])
        await on_adjudicated_many(unit, items, default_resources().context())


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    await on_reversed(await _unit(session, envelope), envelope.payload_as(ClaimReversedV1))


@registry.on(EligibilityCheckCompletedV1.event_type, EligibilityCheckCompletedV1.schema_version)
async def eligibility(session: AsyncSession, envelope: Envelope) -> None:
    await on_eligibility(await _unit(session, envelope), envelope.payload_as(EligibilityCheckCompletedV1))


@registry.on(ResubmissionRequestedV1.event_type, ResubmissionRequestedV1.schema_version)
async def resubmission(session: AsyncSession, envelope: Envelope) -> None:
    """Denials asks for a corrected claim: build the frequency-7 claim, and queue it when it scrubs clean."""
    event = envelope.payload_as(ResubmissionRequestedV1)
    unit = await _unit(session, envelope)
    try:
        await request_resubmission(
            unit, event.claim_id, event.correction, default_resources().context(), get_settings()
        )
    except NotFound as exc:
        raise PermanentError(str(exc)) from exc
    except ValueError as exc:  # an illegal transition, a correction that does not fit, not possible yet
        raise PermanentError(f"cannot resubmit claim {event.claim_id}: {exc}") from exc


@registry.on(DenialResolvedV1.event_type, DenialResolvedV1.schema_version)
async def denial_resolved(session: AsyncSession, envelope: Envelope) -> None:
    await on_denial_resolved(await _unit(session, envelope), envelope.payload_as(DenialResolvedV1))


@registry.on(DenialMoveUndoneV1.event_type, DenialMoveUndoneV1.schema_version)
async def denial_move_undone(session: AsyncSession, envelope: Envelope) -> None:
    await on_denial_move_undone(await _unit(session, envelope), envelope.payload_as(DenialMoveUndoneV1))


@registry.on(AppealSentV1.event_type, AppealSentV1.schema_version)
async def appeal_sent(session: AsyncSession, envelope: Envelope) -> None:
    await on_appeal_sent(await _unit(session, envelope), envelope.payload_as(AppealSentV1))
