"""Event type -> use case table of the eligibility worker: each handler opens the unit of its event (the event's
tenant, the event as the actor) and calls one use case. Eligibility reads each tenant's practice (the billing
provider its 270s name)."""

from __future__ import annotations

from rcm_shared.bus.consumer import HandlerRegistry, PermanentError
from rcm_shared.errors import Invalid
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import PracticeChangedV1
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.config import get_settings
from eligibility.models import bus
from eligibility.use_cases.practice import record_practice

registry = HandlerRegistry()


def _units() -> Units:
    return Units.of_service(get_settings(), bus)  # the settings of now: tests change the topic prefix


@registry.on(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
async def practice_changed(session: AsyncSession, envelope: Envelope) -> None:
    unit = await _units().for_event(session, envelope)
    try:
        await record_practice(unit, envelope.payload_as(PracticeChangedV1), envelope.id)
    except Invalid as exc:  # a profile no retry can make usable: dead-lettered, the version stored stays in force
        raise PermanentError(str(exc)) from exc
