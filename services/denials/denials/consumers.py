"""Event type -> handler table of the denials worker."""

from __future__ import annotations

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from sqlalchemy.ext.asyncio import AsyncSession

from denials.config import get_settings
from denials.handlers import Unit, on_adjudicated, on_claim_status, on_reversed
from denials.resources import fee_schedule, rules

registry = HandlerRegistry()


@registry.on(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelope: Envelope) -> None:
    unit = Unit(await session.connection(), envelope.tenantid, get_settings())
    await on_adjudicated(unit, envelope.payload_as(ClaimAdjudicatedV1), rules(), envelope, fee_schedule())


@registry.on(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version)
async def claim_status(session: AsyncSession, envelope: Envelope) -> None:
    unit = Unit(await session.connection(), envelope.tenantid, get_settings())
    await on_claim_status(unit, envelope.payload_as(ClaimStatusChangedV1), envelope, rules())


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    unit = Unit(await session.connection(), envelope.tenantid, get_settings())
    await on_reversed(unit, envelope.payload_as(ClaimReversedV1), envelope)
