"""Event type -> handler table of the denials worker."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from sqlalchemy.ext.asyncio import AsyncSession

from denials.config import get_settings
from denials.handlers import Unit, concerns_denials, on_adjudicated_many, on_claim_status, on_reversed
from denials.resources import fee_schedule, rules

registry = HandlerRegistry()


@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[ClaimAdjudicatedV1, Envelope]]] = {}
    for envelope in envelopes:  # tenants never share a claim: each tenant's events in their order
        by_tenant.setdefault(envelope.tenantid, []).append((envelope.payload_as(ClaimAdjudicatedV1), envelope))
    connection = await session.connection()
    for tenant, items in by_tenant.items():
        await on_adjudicated_many(Unit(connection, tenant, get_settings()), items, rules(), fee_schedule())


def _concerns_denials(envelope: Envelope) -> bool:
    return concerns_denials(envelope.payload_as(ClaimStatusChangedV1))


# Most transitions mean nothing here (a claim submitted, accepted, paid): they are passed over, with no inbox row
# and no transaction; only those ``on_claim_status`` acts on reach the handler.
@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version, wants=_concerns_denials)
async def claim_status(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    connection = await session.connection()
    for envelope in envelopes:
        event = envelope.payload_as(ClaimStatusChangedV1)
        await on_claim_status(Unit(connection, envelope.tenantid, get_settings()), event, envelope, rules())


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    unit = Unit(await session.connection(), envelope.tenantid, get_settings())
    await on_reversed(unit, envelope.payload_as(ClaimReversedV1), envelope)
