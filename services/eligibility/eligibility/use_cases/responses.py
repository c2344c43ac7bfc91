"""A raw 271 (from a batch or a payer portal): each subscriber's or dependent's answer becomes a check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rcm_shared.errors import Invalid
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit
from rcm_shared.x12.errors import X12Error

from eligibility.adapters.x12 import answers
from eligibility.repository import store_checks
from eligibility.use_cases.checks import new_check


async def ingest_271(unit: Unit, text: str) -> list[Any]:
    """The checks the 271's answers make, stored with their events in the unit's transaction."""
    if not text.strip():
        raise Invalid("the request carries no 271", title="Empty body")
    try:
        return await _ingest(unit, text)
    except X12Error as exc:
        raise Invalid(str(exc), title="Invalid 271", x12=exc.as_dict()) from None


async def _ingest(unit: Unit, text: str) -> list[Any]:
    checks = []
    for r in answers(text):
        member = r.member
        member_id = (member.member_id if member else None) or (r.subscriber.member_id if r.subscriber else None) or ""
        service_date = next(
            (start for q, start, _end in r.dates if q in ("291", "307", "472")), datetime.now(UTC).date()
        )
        checks.append(
            new_check(
                unit,
                new_id(),
                r,
                source="ingested",
                request={},
                x12_270=None,
                x12_271=text,
                member_id=member_id,
                service_date=service_date,
                service_types=sorted({st for b in r.benefits for st in b.service_types}) or ["30"],
                npi=r.provider_id[:10],
            )
        )
    if not checks:
        raise X12Error("the 271 holds no eligibility answer", code="structure")
    return list(await store_checks(unit.conn, checks))
