"""How the simulated payers decide: the 277CA verdict, then the 835 claim payment, from the plan book.

Pure functions of (plan book, claim, dates, seed): the same inputs always give the same outcome, and what
varies "now and then" (a reversal-and-correction pair, a PLB, a claim allowed below or above the contract)
is drawn from a hash of the seed and the claim's content, never from arrival order or clock time. Member
accumulators are a snapshot (the plan book's met amounts), not updated between claims, for the same reason.
Each line is priced by :mod:`sandbox.pricing`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x276 import ClaimAck, Status
from rcm_shared.x12.sets.x835 import ClaimPayment, Procedure, ServicePayment
from rcm_shared.x12.sets.x837 import Claim

from sandbox.payers import Enrollment, PayerConfig, PlanBook, VarianceRule
from sandbox.pricing import LineVariance, denied_line, price_lines

# 837 SBR09 -> 835 CLP06: the 835's code list has no CI/BL (commercial); a PPO plan reports 12.
FILING_835 = {"CI": "12", "BL": "12", "11": "12"}


def fraction(*parts: object) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def content_key(claim: Claim) -> str:
    """What makes a claim the same claim to a payer: member, dates, codes and charges (not our claim id)."""
    lines = ",".join(f"{ln.procedure_code}/{ln.service_date}/{ln.charge}" for ln in claim.lines)
    return f"{claim.payer.payer_id}|{claim.subscriber.member_id}|{lines}"


def payer_claim_number(payer_id: str, claim: Claim) -> str:
    """The payer's claim control number: stable for a claim id (a replacement gets its own)."""
    return f"{payer_id[:3]}{int(hashlib.sha256(claim.claim_id.encode()).hexdigest()[:12], 16) % 10**12:012d}"


# -- 277CA -----------------------------------------------------------------------------------------------
def acknowledge(book: PlanBook, claim: Claim) -> ClaimAck:
    """Front-end edits: an unknown payer or member id is rejected before adjudication (A3)."""
    patient = claim.subscriber
    service = min((ln.service_date for ln in claim.lines if ln.service_date), default=claim.statement_from)
    ack = ClaimAck(
        claim.claim_id,
        patient.last,
        patient.first,
        patient.member_id or "",
        claim.total_charge,
        service or date.today(),
        max((ln.service_date_end or ln.service_date for ln in claim.lines if ln.service_date), default=None),
    )
    if claim.payer.payer_id not in book.payers:  # 116: claim submitted to the incorrect payer
        ack.status = Status("A3", "116", "PR", action="U")
    elif book.enrollment(claim.payer.payer_id, patient.member_id or "") is None:
        ack.status = Status("A3", "164", "IL", action="U")  # entity's contract/member number: the subscriber
    else:
        ack.payer_claim_control_number = payer_claim_number(claim.payer.payer_id, claim)
    return ack


# -- 835 -------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """The 835 items one claim produces: its payment, and now and then a later reversal + correction."""

    payment: ClaimPayment
    later: list[ClaimPayment] = field(default_factory=list)
    reason: str = "paid"
    # (payer id, payment): the crossover payer's own 835 for a claim this payer forwarded to it (CLP02 19)
    crossover: list[tuple[str, ClaimPayment]] = field(default_factory=list)
    # the lines of the standing payment a plan-book rule allowed off the contract
    variances: list[LineVariance] = field(default_factory=list)


class DuplicateIndex:
    """Original claims already adjudicated, by billing provider and content: a second one with another claim id
    is CO-18. The same services billed by another provider (another practice) are that provider's claim."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def first(self, claim: Claim) -> str | None:
        key = f"{claim.billing_provider.npi}|{content_key(claim)}"
        earlier = self._seen.setdefault(key, claim.claim_id)
        return None if earlier == claim.claim_id else earlier

    def forwarded(self, claim: Claim, payer_id: str, member_id: str) -> None:
        """The claim was forwarded to this crossover payer: the same claim billed to it directly is a duplicate."""
        lines = ",".join(f"{ln.procedure_code}/{ln.service_date}/{ln.charge}" for ln in claim.lines)
        key = f"{claim.billing_provider.npi}|{payer_id}|{member_id}|{lines}"
        self._seen.setdefault(key, f"crossover:{claim.claim_id}")


def _claim_payment(claim: Claim, payer_id: str, services: list[ServicePayment]) -> ClaimPayment:
    paid = sum((s.paid for s in services), Decimal(0))
    patient = sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), Decimal(0))
    secondary = claim.responsibility == "S"
    status = "4" if paid == 0 and patient == 0 else ("2" if secondary else "1")
    return ClaimPayment(
        claim.claim_id,
        status,
        claim.total_charge,
        paid,
        patient,
        FILING_835.get(claim.filing_indicator, claim.filing_indicator),
        payer_claim_number(payer_id, claim),
        facility_type=claim.facility_code,
        frequency="1",
        patient={
            "last": claim.subscriber.last,
            "first": claim.subscriber.first or "",
            "id_qualifier": "MI",
            "id": claim.subscriber.member_id or "",
        },
        services=services,
        dates={"232": claim.statement_from, "233": claim.statement_to or claim.statement_from}
        if claim.statement_from
        else {},
    )


def _whole_claim_denial(claim: Claim, payer_id: str, carc: str, rarc: str | None, reason: str) -> Outcome:
    services = [denied_line(ln, "CO", carc, rarc) for ln in claim.lines]
    return Outcome(_claim_payment(claim, payer_id, services), reason=reason)


def drawn_rule(payer: PayerConfig, claim: Claim, seed: int) -> VarianceRule | None:
    """The variance rule, if any, that falls on this claim: one draw per claim, the rules' shares of claims laid
    end to end (underpay first), so a claim is underpaid or overpaid, never both."""
    draw = fraction(seed, content_key(claim), "contract variance") * 100
    floor = 0.0
    for rule in payer.variance_rules:
        if floor <= draw < floor + float(rule.percent):
            return rule
        floor += float(rule.percent)
    return None


def adjudicate(
    book: PlanBook, claim: Claim, received: date, seed: int, duplicates: DuplicateIndex | None = None
) -> Outcome:
    payer = book.payers[claim.payer.payer_id]
    member = book.enrollment(payer.payer_id, claim.subscriber.member_id or "")
    assert member is not None, "a claim without a known member is rejected by the 277CA, never adjudicated"
    dates = [ln.service_date for ln in claim.lines if ln.service_date]
    first_service = min(dates) if dates else claim.statement_from
    if first_service is None:  # an 837 always dates its services; a claim without any cannot be priced
        return _whole_claim_denial(claim, payer.payer_id, "16", "MA130", "no date of service")
    if not member.covers(first_service):
        carc = "26" if first_service < member.start else "27"  # before coverage / after it ended
        return _whole_claim_denial(claim, payer.payer_id, carc, "N30", "no coverage on the date of service")
    if (received - first_service).days > int(payer.setting("timely_filing_days", 365)):
        return _whole_claim_denial(claim, payer.payer_id, "29", None, "timely filing limit expired")
    if duplicates is not None and claim.frequency == "1" and duplicates.first(claim):
        return _whole_claim_denial(claim, payer.payer_id, "18", "N522", "duplicate")
    services, variances = price_lines(claim, payer, member, rule=drawn_rule(payer, claim, seed))
    outcome = Outcome(_claim_payment(claim, payer.payer_id, services))
    denied = [s for s in services if s.paid == 0 and not any(a.group == "PR" for a in s.adjustments)]
    if denied:
        outcome.reason = "denied" if len(denied) == len(services) else "partially paid"
    elif outcome.payment.paid > 0 and fraction(seed, content_key(claim), "reversal") * 100 < float(
        payer.setting("reversal_percent", "0")
    ):
        outcome = _paid_wrong_first(claim, payer, member, outcome.payment)
    outcome.variances = variances
    if member.crossover and claim.responsibility == "P" and outcome.payment.status == "1" and not outcome.later:
        _forward(book, claim, outcome, member.crossover, duplicates)
    return outcome


def _forward(
    book: PlanBook, claim: Claim, outcome: Outcome, to: tuple[str, str], duplicates: DuplicateIndex | None
) -> None:
    """The payer forwards the claim to the member's crossover plan (CLP02 19, NM1*TT), which answers with its own
    835: per line, the patient-share CARCs its plan covers paid, Medicare's part as OA-23, the rest still PR."""
    payer_id, member_id = to
    crossover = book.payers[payer_id]
    enrollment = book.enrollment(payer_id, member_id)
    assert enrollment is not None, "a crossover member is enrolled with the crossover payer (sandbox.payers)"
    covers = set(enrollment.plan.get("covers", []))
    primary = outcome.payment
    primary.status = "19"
    primary.crossover_carrier = {"name": crossover.name, "id_qualifier": "PI", "id": payer_id}
    services = []
    for s in primary.services:
        patient = [a for a in s.adjustments if a.group == "PR"]
        paid = sum((a.amount for a in patient if a.reason in covers), Decimal(0))
        left = [Adjustment("PR", a.reason, a.amount) for a in patient if a.reason not in covers]
        prior = s.charge - sum((a.amount for a in patient), Decimal(0))
        services.append(
            ServicePayment(
                s.procedure,
                s.charge,
                paid,
                revenue_code=s.revenue_code,
                units=s.units,
                service_date=s.service_date,
                line_control_number=s.line_control_number,
                adjustments=([Adjustment("OA", "23", prior)] if prior else []) + left,
            )
        )
    answer = _claim_payment(claim, payer_id, services)
    answer.status = "2" if answer.status != "4" else "4"
    answer.filing_indicator = "MC" if "MEDICAID" in crossover.name else FILING_835["CI"]
    answer.patient = {**answer.patient, "id": member_id}
    outcome.crossover.append((payer_id, answer))
    if duplicates is not None:
        duplicates.forwarded(claim, payer_id, member_id)


def _negated(p: ClaimPayment) -> ClaimPayment:
    services = [
        ServicePayment(
            s.procedure,
            -s.charge,
            -s.paid,
            units=s.units,
            service_date=s.service_date,
            line_control_number=s.line_control_number,
            adjustments=[Adjustment(a.group, a.reason, -a.amount) for a in s.adjustments],
        )
        for s in p.services
    ]
    return ClaimPayment(
        p.patient_control_number,
        "22",
        -p.charge,
        -p.paid,
        -(p.patient_responsibility or Decimal(0)),
        p.filing_indicator,
        p.payer_claim_control_number,
        facility_type=p.facility_type,
        frequency=p.frequency,
        patient=dict(p.patient),
        services=services,
    )


def _paid_wrong_first(claim: Claim, payer: PayerConfig, member: Enrollment, correct: ClaimPayment) -> Outcome:
    """Paid at last year's fees (90%) first; a later 835 reverses that payment and pays it right."""
    wrong = _claim_payment(claim, payer.payer_id, price_lines(claim, payer, member, Decimal("0.9"))[0])
    return Outcome(wrong, later=[_negated(wrong), correct], reason="paid, reversed and corrected")


# -- voids (frequency 8) and replacements (frequency 7) ---------------------------------------------------
def standing_record(p: ClaimPayment) -> dict[str, Any]:
    """What a payer keeps of a claim's standing adjudication, to take it back when the claim is voided or
    replaced: the amounts per line, no patient data (the void or replacement names the patient again)."""
    return {
        "claim_id": p.patient_control_number,
        "icn": p.payer_claim_control_number,
        "charge": str(p.charge),
        "paid": str(p.paid),
        "patient": str(p.patient_responsibility or Decimal(0)),
        "filing": p.filing_indicator,
        "facility": p.facility_type,
        "services": [
            {
                "qualifier": s.procedure.qualifier,
                "code": s.procedure.code,
                "modifiers": list(s.procedure.modifiers),
                "charge": str(s.charge),
                "paid": str(s.paid),
                "units": None if s.units is None else str(s.units),
                "date": None if s.service_date is None else s.service_date.isoformat(),
                "line": s.line_control_number,
                "adjustments": [[a.group, a.reason, str(a.amount)] for a in s.adjustments],
            }
            for s in p.services
        ],
    }


def carries_money(record: dict[str, Any]) -> bool:
    """A payment or a patient share was reported for the claim: a void or replacement must take it back."""
    return Decimal(record["paid"]) != 0 or Decimal(record["patient"]) != 0


def reversal(record: dict[str, Any], request: Claim) -> ClaimPayment:
    """CLP02 = 22 for the claim a void or replacement supersedes: its standing adjudication negated, on the
    original's CLP01 and payer claim number (which is how a provider pairs it with the payment it undoes)."""
    standing = ClaimPayment(
        str(record["claim_id"]),
        "1",
        Decimal(str(record["charge"])),
        Decimal(str(record["paid"])),
        Decimal(str(record["patient"])),
        str(record["filing"]),
        str(record["icn"]),
        facility_type=None if record["facility"] is None else str(record["facility"]),
        frequency="1",
        patient={
            "last": request.subscriber.last,
            "first": request.subscriber.first or "",
            "id_qualifier": "MI",
            "id": request.subscriber.member_id or "",
        },
        services=[
            ServicePayment(
                Procedure(s["qualifier"], s["code"], list(s["modifiers"])),
                Decimal(s["charge"]),
                Decimal(s["paid"]),
                units=None if s["units"] is None else Decimal(s["units"]),
                service_date=None if s["date"] is None else date.fromisoformat(s["date"]),
                line_control_number=s["line"],
                adjustments=[Adjustment(g, r, Decimal(a)) for g, r, a in s["adjustments"]],
            )
            for s in record["services"]
        ],
    )
    return _negated(standing)
