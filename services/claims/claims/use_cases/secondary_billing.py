"""Secondary billing (coordination of benefits): after the primary payer adjudicates, the claim to the
secondary payer, with the primary's adjudication as COB (2320/2430), built once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.payloads.remittance import ClaimAdjudicatedV1
from rcm_shared.unit import Unit

from claims.domain.encounter import ClaimCreate, SecondaryPayerIn
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.use_cases.charge_entry import create_claims


async def bill_secondary(unit: Unit, row: Any, event: ClaimAdjudicatedV1, ctx: ScrubContext) -> str | None:
    """After the primary adjudicates, the claim to the secondary payer, with the primary's adjudication
    as COB (2320/2430). Built once; returns its id (None when there is no secondary payer or nothing left)."""
    doc = ClaimCreate.model_validate(row.document)
    second = bills_secondary(doc, event)
    if second is None or await ClaimsRepository(unit).billed_to(row.id, second.payer_id):
        return None
    secondary = secondary_document(doc, second, event, event.payment_date or datetime.now(UTC).date())
    (new,) = await create_claims(unit, [secondary], ctx, original=row, linked_only=True)
    return str(new["id"])


def bills_secondary(doc: ClaimCreate, event: ClaimAdjudicatedV1) -> SecondaryPayerIn | None:
    """The secondary payer to bill after this adjudication by the primary, or None: no secondary payer, the
    payer forwarded the claim itself (CLP02 19-21, a crossover), or nothing is left for it."""
    second = doc.secondary_payer
    if second is None or doc.payer.responsibility != "P" or event.status_code != "1":
        return None
    if event.paid_cents >= event.charge_cents:
        return None
    return second


def secondary_document(
    doc: ClaimCreate, second: SecondaryPayerIn, event: ClaimAdjudicatedV1, paid_on: date
) -> ClaimCreate:
    """The claim to the secondary payer, with the primary's adjudication as COB (2320/2430)."""
    data = doc.model_dump(mode="json")

    def adjustments(line_number: int | None) -> list[dict[str, Any]]:
        return [
            {"group": a.group, "reason": a.reason, "amount": f"{a.amount_cents / 100:.2f}"}
            for a in event.adjustments
            if a.line_number == line_number
        ]

    data["prior_payers"] = [
        {
            **doc.payer.model_dump(mode="json"),
            "subscriber": doc.subscriber.model_dump(mode="json"),
            "relationship": "18",
            "paid": f"{event.paid_cents / 100:.2f}",
            "paid_date": paid_on.isoformat(),
            "remaining_patient_liability": f"{event.patient_responsibility_cents / 100:.2f}",
            "adjustments": adjustments(None),
        }
    ]
    paid_by_line = {ln.line_number: ln.paid_cents for ln in event.lines}
    for n, line in enumerate(data["lines"], start=1):
        line["prior_payments"] = [
            {
                "paid": f"{paid_by_line.get(n, 0) / 100:.2f}",
                "paid_date": paid_on.isoformat(),
                "adjustments": adjustments(n),
            }
        ]
    data["payer"] = {
        k: second.model_dump(mode="json")[k] for k in ("payer_id", "name", "responsibility", "filing_indicator")
    }
    data["subscriber"] = second.subscriber.model_dump(mode="json")
    data["secondary_payer"] = None
    return ClaimCreate.model_validate(data)
