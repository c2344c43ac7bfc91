"""Each tenant's practice as the claims service announces it (``practice.changed``), kept by version, and the
letterhead of its appeal letters: the legal name and the statement header's address and phone of the version
in effect on the letter's date. A tenant with no profile in effect on that date (none received yet, or only
later ones) keeps the deployment's name, ``DENIALS_PRACTICE_NAME``."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from rcm_shared.errors import Invalid
from rcm_shared.payloads.claims import PracticeChangedV1
from rcm_shared.unit import Unit

from denials.adapters.letters import Letterhead
from denials.repository.practice import PracticeRepository

log = logging.getLogger(__name__)


async def on_practice_changed(unit: Unit, event: PracticeChangedV1, event_id: str) -> bool:
    """Stores a version of the unit's tenant's practice newer than every one stored; an older version arriving
    late, or one stored already, changes nothing. True when stored. Invalid for the profile of another tenant
    than the event's."""
    if event.tenant_id != unit.tenant:  # the envelope's tenant scopes what is stored: another's is never applied
        raise Invalid(f"practice.changed of tenant {unit.tenant} carries the profile of tenant {event.tenant_id}")
    repo = PracticeRepository(unit)
    newest = await repo.newest_version()
    if newest is not None and event.version <= newest:
        log.info("practice profile not newer than the one stored: ignored", extra={"tenant_id": unit.tenant})
        return False
    await repo.add(
        {
            "version": event.version,
            "effective_from": event.effective_from,
            "legal_name": event.legal_name,
            "statement_name": event.statement_name,
            "statement_address": event.statement_address.model_dump(mode="json"),
            "statement_phone": event.statement_phone,
            "event_id": event_id,
            "received_at": datetime.now(UTC),
        }
    )
    return True


async def letterhead(unit: Unit, on: date, fallback_name: str) -> Letterhead:
    """The letterhead of the tenant's letters dated ``on``."""
    row = await PracticeRepository(unit).in_effect(on)
    if row is None:
        return Letterhead(fallback_name)
    a = row.statement_address
    city = f"{a['city']}, {a['state']} {a['postal_code']}"
    lines = (a["line1"], *([a["line2"]] if a.get("line2") else []), city, f"Phone {row.statement_phone}")
    return Letterhead(row.legal_name, lines)
