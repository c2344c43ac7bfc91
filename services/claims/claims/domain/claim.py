"""A claim as this service stores it: its id, its columns drawn from the document, its duplicate and
patient-account keys. Pure."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import Edit

CROSSOVER_PENDING, CROSSOVER_ANSWERED = "pending", "answered"  # claim.crossover_state

# A void or replacement (frequency 8/7) in these states is still open: the payer has not acted on it yet.
OPEN_REQUEST = (st.DRAFT, st.READY, st.SUBMITTED, st.ACCEPTED)
SENT_REQUEST = (st.SUBMITTED, st.ACCEPTED)

# Whose units a per-day MUE adds up: the same payer, member, patient (account) and billing provider.
MueParty = tuple[str, str, str, str]

# One transition already applied to a claim row: (the claim's columns after it, old state, new state,
# reason, extra members of its status-changed event).
Change = tuple[dict[str, Any], str | None, str, str | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StatusFinding:
    """A 999/277CA/277 finding on one claim: accepted (True), rejected (False) or neither (None)."""

    claim_id: str
    accepted: bool | None
    detail: dict[str, Any]
    payer_claim_control_number: str | None = None


def new_claim_id() -> str:
    return "C" + uuid.uuid4().hex[:15].upper()  # 16 characters: CLM01 allows 20


def duplicate_key(doc: ClaimCreate) -> str:
    """Same patient, payer, dates and procedures = a duplicate (whatever the charges)."""
    person = doc.patient_person
    parts = [
        doc.payer.payer_id,
        doc.subscriber.member_id,
        person.last_name.upper(),
        str(person.birth_date),
        *sorted(
            f"{ln.procedure_code}|{'-'.join(ln.modifiers)}|{ln.service_date}|{ln.revenue_code}" for ln in doc.lines
        ),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def account_key(tenant: str, doc: ClaimCreate) -> str:
    """The patient's match key within the tenant: name and birth date."""
    person = doc.patient or doc.subscriber
    parts = (
        tenant,
        person.last_name.strip().upper(),
        (person.first_name or "").strip().upper(),
        str(person.birth_date),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def mue_party(doc: ClaimCreate, account: str | None) -> MueParty:
    npi = doc.billing_provider.npi if doc.billing_provider is not None else doc.billing_provider_npi
    return (doc.payer.payer_id, doc.subscriber.member_id, account or "", npi or "")


def provider_name(doc: ClaimCreate) -> str | None:
    """The provider as a patient's statement names the visit's: the rendering provider, else the billing one
    (a person as first and last name, an organization by its name)."""
    provider = doc.rendering_provider or doc.billing_provider
    if provider is None:
        return None
    if provider.is_person and provider.first_name:
        return f"{provider.first_name} {provider.name}"
    return provider.name


def cents(value: Any) -> int:
    return int((value * 100).to_integral_value())


def edits_json(edits: list[Edit]) -> list[dict[str, str]]:
    return [e.__dict__ for e in edits]


def columns(doc: ClaimCreate) -> dict[str, Any]:
    """The claim columns the document decides."""
    return {
        "kind": "P" if doc.kind == "professional" else "I",
        "payer_id": doc.payer.payer_id,
        "member_id": doc.subscriber.member_id,
        "service_from": doc.service_from,
        "service_to": doc.service_to,
        "charge_cents": cents(doc.total_charge),
        "duplicate_key": duplicate_key(doc),
        "document": doc.model_dump(mode="json"),
        "next_payer_id": (
            doc.secondary_payer.payer_id
            if doc.secondary_payer is not None and doc.payer.responsibility == "P"
            else None
        ),
    }


def add_units(billed: dict[tuple[str, Any], Decimal], units: dict[tuple[str, Any], Decimal]) -> None:
    """Add one claim's per-day MUE units to what a party has billed."""
    for key, value in units.items():
        billed[key] = billed.get(key, Decimal(0)) + value
