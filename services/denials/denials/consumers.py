"""Event type -> use case table of the denials worker, and the classification rules and the Medicare fee
schedule it hands the use cases (loaded once: the bundled rules or those the settings name; the schedule
when the settings name its files). Denials reads each tenant's practice (its appeal letters' letterhead)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from rcm_shared.bus.consumer import HandlerRegistry, PermanentError
from rcm_shared.errors import Invalid
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1, PracticeChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncSession

from denials.config import get_settings
from denials.domain.classify import Rules, default_rules, load_rules
from denials.domain.medicare import MedicareSchedule
from denials.models import bus
from denials.use_cases import expected
from denials.use_cases.intake import concerns_denials, on_adjudicated_many, on_claim_status, on_reversed
from denials.use_cases.letterhead import on_practice_changed
from denials.use_cases.pricing import medicare_schedule

registry = HandlerRegistry()


@cache
def rules() -> Rules:
    file = get_settings().classification_file
    return load_rules(Path(file)) if file else default_rules()


def medicare() -> MedicareSchedule | None:
    return medicare_schedule(get_settings())


def _units() -> Units:
    """The units of the settings in force (their topic prefix)."""
    return Units.of_service(get_settings(), bus)


@registry.on_batch(ClaimAdjudicatedV1.event_type, ClaimAdjudicatedV1.schema_version)
async def adjudicated(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_tenant: dict[str, list[tuple[ClaimAdjudicatedV1, Envelope]]] = {}
    for envelope in envelopes:  # tenants never share a claim: each tenant's events in their order
        by_tenant.setdefault(envelope.tenantid, []).append((envelope.payload_as(ClaimAdjudicatedV1), envelope))
    units = _units()
    settings = get_settings()
    for _tenant, items in sorted(by_tenant.items()):  # tenants in one order: the claims' locks taken in one order
        unit = await units.for_event(session, items[0][1])
        await on_adjudicated_many(unit, items, rules(), settings=settings)
        await expected.on_adjudications(unit, items, medicare(), settings)


def _wanted(envelope: Envelope) -> bool:
    event = envelope.payload_as(ClaimStatusChangedV1)
    return concerns_denials(event) or bool(event.lines)


# Most transitions mean nothing here (a claim accepted, paid): they are passed over, with no inbox row and no
# transaction; only those ``on_claim_status`` acts on and those carrying the billed lines reach the handler.
@registry.on_batch(ClaimStatusChangedV1.event_type, ClaimStatusChangedV1.schema_version, wants=_wanted)
async def claim_status(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    units = _units()
    settings = get_settings()
    by_tenant: dict[str, list[tuple[ClaimStatusChangedV1, Envelope]]] = {}
    for envelope in envelopes:
        event = envelope.payload_as(ClaimStatusChangedV1)
        by_tenant.setdefault(envelope.tenantid, []).append((event, envelope))
        if concerns_denials(event):
            await on_claim_status(await units.for_event(session, envelope), event, envelope, rules())
    # the billed lines of a tenant's claims priced together; tenants in one order: the claims' locks in one order
    for _tenant, items in sorted(by_tenant.items()):
        with_lines = [(event, envelope) for event, envelope in items if event.lines]
        if with_lines:
            unit = await units.for_event(session, with_lines[0][1])
            await expected.on_claim_lines(unit, with_lines, medicare(), settings)


@registry.on(ClaimReversedV1.event_type, ClaimReversedV1.schema_version)
async def reversed_(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _units().for_event(session, envelope)
    event = envelope.payload_as(ClaimReversedV1)
    await on_reversed(unit, event, envelope)
    await expected.on_reversed(unit, event, envelope)


@registry.on(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
async def practice_changed(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _units().for_event(session, envelope)
    try:
        await on_practice_changed(unit, envelope.payload_as(PracticeChangedV1), envelope.id)
    except Invalid as exc:  # a profile no retry can make usable: dead-lettered, the versions stored stay in force
        raise PermanentError(str(exc)) from exc
