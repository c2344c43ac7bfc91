"""Insurance follow-up: the work list of claims whose answer from the clearinghouse or the payer is late
(``domain.follow_up`` says which and what to do), and the 276 inquiries it says are due."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from rcm_shared.unit import Actor, Unit, Units

from claims.config import ClaimsSettings
from claims.domain.follow_up import FollowUpItem, assess, assess_crossover, by_urgency
from claims.domain.scrubber import PayerRuleBook
from claims.repository import ReportsRepository
from claims.repository.reports import open_tenants
from claims.use_cases.references import NoConnection
from claims.use_cases.submission import Prepared, hold_for_caller, prepare_status_inquiry

log = logging.getLogger(__name__)
FOLLOW_UP = Actor("follow-up")


async def follow_up_list(
    unit: Unit, rules: PayerRuleBook, as_of: date, payer_id: str | None = None
) -> list[FollowUpItem]:
    """The work list, most urgent first: timely-filing warnings by days left, then the longest waiting."""
    reports = ReportsRepository(unit)
    rows = await reports.waiting(payer_id)
    records = await reports.status_records([row.id for row in rows])
    items = [i for row in rows if (i := assess(row, records.get(row.id, []), rules, as_of)) is not None]
    for row in await reports.crossovers_pending(payer_id):
        if (item := assess_crossover(row, rules, as_of)) is not None:
            items.append(item)
    items.sort(key=by_urgency)
    return items


async def send_due_inquiries(
    units: Units,
    settings: ClaimsSettings,
    rules: PayerRuleBook,
    *,
    tenant: str | None = None,
    as_of: date | None = None,
    limit: int = 500,
    hold_s: float = 0.0,
) -> list[Prepared]:
    """A 276 for every listed claim (of ``tenant``, else of every tenant) whose inquiry is due, recorded
    pending, in one transaction; the caller delivers them (the worker leaves them alone for ``hold_s``).
    ``NoConnection`` when ``tenant`` has no clearinghouse connection; in the sweep of every tenant, one without
    is passed over with a warning (its claims were sent before it lost it), the others' inquiries go."""
    as_of = as_of or datetime.now(UTC).date()
    prepared: list[Prepared] = []
    async with units.write(tenant or settings.default_tenant, FOLLOW_UP) as unit:
        for t in [tenant] if tenant else await open_tenants(unit.conn):
            of_tenant, theirs = unit.for_tenant(t), list[Prepared]()
            try:
                for item in await follow_up_list(of_tenant, rules, as_of):
                    if item.inquiry_due and len(prepared) + len(theirs) < limit:
                        theirs.append(await prepare_status_inquiry(of_tenant, settings, item.claim_id))
            except NoConnection:
                if tenant:
                    raise
                # raised before that inquiry wrote anything: the tenant has no connection to send under today
                log.warning("follow-up: no clearinghouse connection to send 276s under", extra={"tenant_id": t})
                continue
            await hold_for_caller(of_tenant, theirs, hold_s)
            prepared += theirs
    return prepared
