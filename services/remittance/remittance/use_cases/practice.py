"""Each tenant's practice as claims announces it (``practice.changed``): the latest version's statement header
and clearinghouse connections are kept; an older version, or the same one again, changes nothing. Statements
print the header (``practice_of``); inbound files are routed by the connections (``use_cases.routing``)."""

from __future__ import annotations

from datetime import UTC, datetime

from rcm_shared.errors import Invalid
from rcm_shared.payloads.claims import PracticeChangedV1
from rcm_shared.unit import Unit

from remittance.domain.practice import Practice, address_lines
from remittance.repository.practice import PracticeRepository


async def on_practice_changed(unit: Unit, event: PracticeChangedV1) -> bool:
    """Keep the profile if it is newer than the one stored; True when it was."""
    if event.tenant_id != unit.tenant:  # keyed and sent by the tenant it describes: anything else is a fault
        raise Invalid(f"practice.changed for tenant {event.tenant_id!r} came from tenant {unit.tenant!r}")
    repo = PracticeRepository.of(unit)
    stored = await repo.version()
    if stored is not None and stored >= event.version:
        return False
    values = {
        "version": event.version,
        "effective_from": event.effective_from,
        "legal_name": event.legal_name,
        "statement_name": event.statement_name,
        "statement_address": event.statement_address.model_dump(mode="json"),
        "statement_phone": event.statement_phone,
        "pay_online": event.pay_online,
        "pay_by_mail": event.pay_by_mail,
        "updated_at": datetime.now(UTC),
    }
    if stored is None:
        await repo.add(values)
    elif not await repo.replace(values):
        return False
    await repo.set_connections(
        {"name": c.name, "submitter_id": c.submitter_id.strip(), "receiver_id": c.receiver_id.strip()}
        for c in event.connections
    )
    return True


async def practice_of(unit: Unit, fallback: Practice) -> Practice:
    """The tenant's practice as statements print it: its profile's, else ``fallback`` (the settings')."""
    row = await PracticeRepository.of(unit).profile()
    if row is None:
        return fallback
    a = row.statement_address
    return Practice(
        name=row.statement_name,
        address=address_lines(a["line1"], a.get("line2"), a["city"], a["state"], a["postal_code"]),
        phone=row.statement_phone,
        pay_online=row.pay_online,
        pay_by_mail=row.pay_by_mail,
    )
