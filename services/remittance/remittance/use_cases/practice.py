"""Each tenant's practice as claims announces it (``practice.changed``): every version is kept with its
``effective_from`` (also one arriving late: statements dated in its time print it), and every clearinghouse
connection any version named (a pair stays its tenant's: answers to claims sent under it may come months after
a later version drops it). Statements print the version in effect on their date (``practice_of``); inbound
files are routed by the connections (``use_cases.routing``)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from rcm_shared.errors import Invalid
from rcm_shared.payloads.claims import PracticeChangedV1
from rcm_shared.unit import Unit

from remittance.domain.practice import Practice, address_lines
from remittance.repository.practice import PracticeRepository

log = logging.getLogger(__name__)


async def on_practice_changed(unit: Unit, event: PracticeChangedV1) -> bool:
    """Keep the version and its connections; True when the version was not stored yet (a redelivery
    changes nothing)."""
    if event.tenant_id != unit.tenant:  # keyed and sent by the tenant it describes: anything else is a fault
        raise Invalid(f"practice.changed for tenant {event.tenant_id!r} came from tenant {unit.tenant!r}")
    repo = PracticeRepository.of(unit)
    if await repo.has_version(event.version):
        return False
    await repo.add_version(
        {
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
    )
    taken = await repo.keep_connections(
        {(c.submitter_id.strip(), c.receiver_id.strip()): c.name for c in event.connections}
    )
    if taken:  # claims refuses a pair another tenant registered: this is a fault upstream, never a takeover
        log.warning(
            "practice connection kept as another tenant's",
            extra={"tenant_id": unit.tenant, "count": len(taken)},
        )
    return True


async def practice_of(unit: Unit, fallback: Practice, on: date) -> Practice:
    """The tenant's practice as a statement dated ``on`` prints it: the profile version in effect then
    (``PracticeRepository.in_effect``), else ``fallback`` (the settings') for a tenant without a profile."""
    row = await PracticeRepository.of(unit).in_effect(on)
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
