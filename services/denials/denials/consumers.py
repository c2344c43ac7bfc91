"""Event type -> use case table of the denials worker, and the classification rules and fee schedule it hands
the use cases (loaded once: the bundled files, or those the settings name)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from rcm_shared.bus.consumer import HandlerRegistry
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncSession

from denials.config import get_settings
from denials.domain.classify import Rules, default_rules, load_rules
from denials.domain.triage import FeeSchedule, load_fee_schedule
from denials.models import bus
from denials.use_cases.intake import concerns_denials, on_adjudicated_many, on_claim_status, on_reversed

registry = HandlerRegistry()


@cache
def rules() -> Rules:
    file = get_settings().classification_file
    return load_rules(Path(file)) if file else default_rules()


@cache
def fee_schedule() -> FeeSchedule:
    file = get_settings().fee_schedule_file
    return load_fee_schedule(Path(file)) if file else {}


def _units() -> Units:
    """The units of the settings in force (their topic prefix)."""
    return Units.of_service(get_settings(), bus)


@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[ClaimAdjudicatedV1, Envelope]]] = {}
    for envelope in envelopes:  # tenants never share a claim: each tenant's events in their order
        by_tenant.setdefault(envelope.tenantid, []).append((envelope.payload_as(ClaimAdjudicatedV1), envelope))
    units = _units()
    for items in by_tenant.values():
        unit = await units.for_event(session, items[0][1])
        await on_adjudicated_many(unit, items, rules(), fee_schedule(), settings=get_settings())


def _concerns_denials(envelope: Envelope) -> bool:
    return concerns_denials(envelope.payload_as(ClaimStatusChangedV1))


# Most transitions mean nothing here (a claim submitted, accepted, paid): they are passed over, with no inbox row
# and no transaction; only those ``on_claim_status`` acts on reach the handler.
@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version, wants=_concerns_denials)
async def claim_status(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    units = _units()
    for envelope in envelopes:
        unit = await units.for_event(session, envelope)
        await on_claim_status(unit, envelope.payload_as(ClaimStatusChangedV1), envelope, rules())


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _units().for_event(session, envelope)
    await on_reversed(unit, envelope.payload_as(ClaimReversedV1), envelope)
