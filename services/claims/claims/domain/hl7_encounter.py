"""An encounter's charges from HL7 (DFT^P03) and the claim they become. Pure.

A charge keeps the units it came with; reversals take units back from the live charges of the same code,
modifiers (in any order) and date of service: the charge whose transaction id (FT1-2) the reversal names
when it names one, else those of the reversal's amount a unit first, newest first. The live units are
what is billed: a charge with none left is not on the claim. The claim is built the way charge entry
takes an encounter: the billing provider left to the practice profile (its first, on the date of
service), the performing provider as the rendering provider by NPI, lines without an amount priced by the
charge master, the subscriber, patient and payer from the registration's primary coverage and its
secondary as ``secondary_payer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from claims.domain import hl7 as h

MAX_POINTERS = 4


@dataclass(frozen=True, slots=True)
class StoredCharge:
    id: str
    service_date: date
    procedure_code: str
    modifiers: tuple[str, ...]
    units_milli: int
    reversed_milli: int
    amount_cents: int | None
    diagnoses: tuple[str, ...]
    performing_npi: str | None
    transaction_id: str | None = None  # FT1-2

    @property
    def live_milli(self) -> int:
        return self.units_milli - self.reversed_milli

    @property
    def live_amount(self) -> Decimal | None:
        """The amount sent for the units still live, to the cent (None: the charge master prices it)."""
        if self.amount_cents is None:
            return None
        cents = Decimal(self.amount_cents) * self.live_milli / self.units_milli
        return (cents / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def same_service(modifiers: Sequence[str], other: Sequence[str]) -> bool:
    return sorted(modifiers) == sorted(other)


def _same_price(charge: StoredCharge, reversal: h.ChargeIn) -> bool:
    """Whether the reversal's amount a unit is the charge's (cross-multiplied: no rounding)."""
    if reversal.extended_cents is None or charge.amount_cents is None:
        return False
    return reversal.extended_cents * charge.units_milli == charge.amount_cents * reversal.units_milli


def reverse(charges: Sequence[StoredCharge], reversal: h.ChargeIn) -> dict[str, int]:
    """The charges' new reversed units (id -> thousandths) once the reversal takes its units back; a
    ``MessageError`` when the charges it may take from have fewer live units. A reversal whose FT1-2 is a
    charge's of the visit takes from that charge only (a reversal sent again finds it reversed already);
    else from the charges of its code, modifiers and date, those of its amount a unit first, newest first."""
    named = [c for c in charges if reversal.transaction_id and c.transaction_id == reversal.transaction_id]
    if named:
        candidates = named
    else:
        same = [
            c
            for c in reversed(charges)
            if c.procedure_code == reversal.procedure_code
            and c.service_date == reversal.service_date
            and same_service(c.modifiers, reversal.modifiers)
        ]
        candidates = [c for c in same if _same_price(c, reversal)] + [c for c in same if not _same_price(c, reversal)]
    wanted = reversal.units_milli
    out: dict[str, int] = {}
    for charge in candidates:
        if wanted == 0:
            break
        if charge.live_milli <= 0:
            continue
        taken = min(wanted, charge.live_milli)
        out[charge.id] = charge.reversed_milli + taken
        wanted -= taken
    if wanted:
        field = 2 if named else 10 if reversal.negative else 7
        raise h.MessageError(
            h.UNKNOWN_KEY_IDENTIFIER,
            f"the reversal of {reversal.procedure_code} on FT1-4's date takes back more units than "
            + (
                "the charge its FT1-2 names has live"
                if named
                else "the visit's live charges of that code and modifiers have"
            ),
            h.Location("FT1", reversal.sequence, field),
        )
    return out


def due_on(charges: Sequence[StoredCharge], hold_days: int) -> date | None:
    """The day the hold ends: ``hold_days`` after the latest date of service still billed (None: nothing is)."""
    dates = [c.service_date for c in charges if c.live_milli > 0]
    return max(dates) + timedelta(days=hold_days) if dates else None


def _person(p: h.Person) -> dict[str, Any]:
    values: dict[str, Any] = {"last_name": p.last_name}
    for key in ("first_name", "middle_name", "sex"):
        if getattr(p, key):
            values[key] = getattr(p, key)
    if p.birth_date:
        values["birth_date"] = p.birth_date.isoformat()
    if p.address:
        a = p.address
        address = {"line1": a.line1, "city": a.city, "state": a.state, "postal_code": a.postal_code}
        values["address"] = {**address, **({"line2": a.line2} if a.line2 else {})}
    return values


def _subscriber(patient: h.Person, c: h.Coverage) -> dict[str, Any]:
    person = patient if c.relationship == "18" or c.insured is None else c.insured
    extra = {"group_number": c.group_number} if c.group_number else {}
    return {**_person(person), "member_id": c.member_id, **extra}


@dataclass(frozen=True, slots=True)
class PayerTerms:
    """How the practice bills a payer: its name on claims and the claim filing indicator (SBR09)."""

    name: str
    filing_indicator: str = "CI"


def claim_document(
    patient: h.Person,
    coverages: Sequence[h.Coverage],
    charges: Sequence[StoredCharge],
    payers: dict[str, PayerTerms],
    *,
    facility_id: str | None,
    place_of_service: str,
) -> dict[str, Any]:
    """The charge-entry body (``ClaimCreate``'s fields) of an encounter: its live charges billed to the
    primary coverage. Raises ``ValueError`` naming what is missing (no coverage, no live charge, no
    diagnosis)."""
    live = [c for c in charges if c.live_milli > 0]
    if not live:
        raise ValueError("the visit has no charge left to bill")
    if not coverages:
        raise ValueError("the patient has no coverage (IN1) registered")
    diagnoses: list[str] = []
    for charge in live:
        for code in charge.diagnoses:
            code = code.replace(".", "").upper()
            if code not in diagnoses:
                diagnoses.append(code)
    if not diagnoses:
        raise ValueError("no diagnosis: send FT1-19 or DG1 segments with the charges")
    lines = []
    for charge in live:
        own = [code.replace(".", "").upper() for code in charge.diagnoses]
        pointers = [diagnoses.index(code) + 1 for code in dict.fromkeys(own)][:MAX_POINTERS] or [1]
        line: dict[str, Any] = {
            "procedure_code": charge.procedure_code,
            "modifiers": list(charge.modifiers),
            "units": str(Decimal(charge.live_milli) / 1000),
            "service_date": charge.service_date.isoformat(),
            "diagnosis_pointers": pointers,
        }
        amount = charge.live_amount
        if amount is not None:
            line["charge"] = str(amount)
        lines.append(line)
    primary = coverages[0]
    terms = payers[primary.payer_id]
    doc: dict[str, Any] = {
        "kind": "professional",
        "subscriber": _subscriber(patient, primary),
        "payer": {"payer_id": primary.payer_id, "name": terms.name, "filing_indicator": terms.filing_indicator},
        "diagnoses": diagnoses,
        "lines": lines,
    }
    if primary.relationship != "18" and primary.insured is not None:
        doc["patient"] = {**_person(patient), "relationship": primary.relationship}
    performer = next((c.performing_npi for c in live if c.performing_npi), None)
    if performer:
        doc["rendering_provider_npi"] = performer
    if facility_id:
        doc["facility_id"] = facility_id
    else:
        doc["facility_code"] = place_of_service
    if len(coverages) > 1:
        second = coverages[1]
        terms = payers[second.payer_id]
        doc["secondary_payer"] = {
            "payer_id": second.payer_id,
            "name": terms.name,
            "filing_indicator": terms.filing_indicator,
            "subscriber": _subscriber(patient, second),
            "relationship": second.relationship,
        }
    return doc
