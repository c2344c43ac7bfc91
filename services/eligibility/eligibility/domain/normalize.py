"""From a 271 to what a front desk needs: status, plan, dates, and per service type and network the
deductible, out-of-pocket, copay, coinsurance, limitations and prior-authorization flags; AAA errors
kept losslessly with a plain-language next step. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse

ACTIVE = {"1", "2", "3", "4", "5"}
INACTIVE = {"6", "7", "8"}
NETWORK = {"Y": "in", "N": "out", "W": "both", "U": "unknown"}
# AAA03 reject reasons -> what the front desk does next (our words).
NEXT_STEPS = {
    "15": "required data missing: complete the request and resend",
    "41": "access restricted by the payer: call the payer's provider line",
    "42": "payer system unavailable: retry later",
    "43": "provider not recognized: check the NPI and the payer enrollment",
    "50": "provider not eligible for this inquiry: verify enrollment with the payer",
    "51": "provider not on file: verify enrollment with the payer",
    "56": "date of service out of range: check the dates",
    "57": "date of service in the future: check the dates",
    "58": "invalid date of birth: re-key it from the patient's ID",
    "62": "date of service not within the allowed inquiry period",
    "71": "date of birth does not match: re-key it from the insurance card",
    "72": "invalid member id: re-key the id from the insurance card",
    "73": "invalid name: re-key the name exactly as on the card",
    "75": "subscriber not found: verify the payer and the id from the card",
    "76": "duplicate member id: ask the patient for the current card",
    "79": "invalid participant id: check the payer id",
}


@dataclass
class Amounts:
    limit: Decimal | None = None
    remaining: Decimal | None = None
    met: Decimal | None = None


@dataclass
class ServiceBenefits:
    service_type: str
    network: str  # in | out | both | unknown
    coverage_level: str | None  # IND | FAM | ...
    active: bool | None = None
    deductible: Amounts = field(default_factory=Amounts)
    out_of_pocket: Amounts = field(default_factory=Amounts)
    copay: Decimal | None = None
    coinsurance: Decimal | None = None  # 0.20 = 20 %
    limitations: list[str] = field(default_factory=list)
    prior_authorization_required: bool | None = None


@dataclass
class Normalized:
    status: str  # active | inactive | error
    plan: str | None
    group_number: str | None
    coverage_start: date | None
    coverage_end: date | None
    payer_id: str
    payer_name: str
    member_id: str | None
    benefits: list[ServiceBenefits]
    other_payers: list[dict[str, Any]]
    errors: list[dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        return _plain(self)  # type: ignore[no-any-return]


_FIELDS: dict[type, tuple[str, ...]] = {}
_AS_IS = frozenset({str, int, float, bool})


def _plain(value: Any) -> Any:
    """JSON-ready copy of the result: money with cents as "12.50" (finer precision, a 12.5 % rate, kept
    whole), dates ISO. Walks the dataclasses itself: ``dataclasses.asdict`` deep-copies every leaf first."""
    # most leaves, at once: asking ``is_dataclass`` of each leaf is what this function would spend its time on
    if value is None or type(value) in _AS_IS:
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    names = _FIELDS.get(type(value))
    if names is None:
        if not is_dataclass(value):
            return value
        names = _FIELDS[type(value)] = tuple(f.name for f in fields(value))
    return {name: _plain(getattr(value, name)) for name in names}


def _slot(table: dict[tuple[str, str, str | None], ServiceBenefits], st: str, b: Benefit) -> ServiceBenefits:
    network = NETWORK.get(b.in_network or "", "unknown")
    key = (st, network, b.coverage_level)
    if key not in table:
        table[key] = ServiceBenefits(st, network, b.coverage_level)
    return table[key]


def _amount_into(amounts: Amounts, b: Benefit) -> None:
    if b.amount is None:
        return
    if b.time_period == "29":
        amounts.remaining = b.amount
    elif b.time_period == "24":
        amounts.met = b.amount
    elif amounts.limit is None or b.time_period in ("23", "22", "25", "32"):
        amounts.limit = b.amount


def normalize(r: EligibilityResponse) -> Normalized:
    member = r.member
    table: dict[tuple[str, str, str | None], ServiceBenefits] = {}
    statuses = [b.code for b in r.benefits if b.code in ACTIVE | INACTIVE]
    plan = next((b.plan for b in r.benefits if b.code in ACTIVE and b.plan), None)
    other_payers = []
    for b in r.benefits:
        if b.code == "R":
            other_payers.append(
                {
                    "plan": b.plan,
                    "insurance_type": b.insurance_type,
                    "references": [f"{q}:{v}" for q, v in b.references],
                    "entities": [{"entity": e.entity, "name": e.name, "id": e.id} for e in b.related],
                }
            )
            continue
        for st in b.service_types or ["30"]:
            slot = _slot(table, st, b)
            if b.code in ACTIVE:
                slot.active = True
            elif b.code in INACTIVE:
                slot.active = False
            elif b.code == "C":
                _amount_into(slot.deductible, b)
            elif b.code == "G":
                _amount_into(slot.out_of_pocket, b)
            elif b.code == "B" and b.amount is not None:
                slot.copay = b.amount
            elif b.code == "A" and b.percent is not None:
                slot.coinsurance = b.percent
            elif b.code == "F":
                slot.limitations += [m for m in b.messages] or [
                    f"{b.quantity} {b.quantity_qualifier or ''}".strip() if b.quantity else "limitation applies"
                ]
            if b.authorization_required == "Y":
                slot.prior_authorization_required = True
            elif b.authorization_required == "N" and slot.prior_authorization_required is None:
                slot.prior_authorization_required = False
    errors = [
        {
            "loop": e.loop,
            "code": e.reason,
            "follow_up": e.follow_up,
            "valid_request": e.valid,
            "next_step": NEXT_STEPS.get(e.reason, "see the payer's message and correct the request"),
        }
        for e in r.errors
    ]
    if errors and not statuses:
        status = "error"
    elif any(s in ACTIVE for s in statuses):
        status = "active"
    else:
        status = "inactive" if statuses else "error"
    start = end = None
    for qualifier, first, last in r.dates:
        if qualifier in ("346", "356", "291", "307"):
            start = start or first
            if last:
                end = end or last
        elif qualifier in ("347", "357"):
            end = first
    group = next((v for q, v in (member.references if member else []) if q == "6P"), None)
    # A dependent has no id of its own in the 271: the subscriber's id is the one to bill under.
    member_id = (member.member_id if member else None) or (r.subscriber.member_id if r.subscriber else None)
    return Normalized(
        status,
        plan,
        group,
        start,
        end,
        r.payer_id,
        r.payer_name,
        member_id,
        list(table.values()),
        other_payers,
        errors,
    )
