"""A released encounter's claim following the visit's later charges and reversals (DFT^P03), and the
encounter's claim document as charge entry takes it.

A DFT for a released encounter stores its charges and reversals and marks the encounter ``pending``; the
claim then follows in a transaction of its own (right after the message's, and again by the worker while it
cannot yet): edited while it has not reached the payer (draft, ready, rejected), else corrected (a
frequency-7 replacement, or a void when nothing is left to bill). A claim the payer's standing does not let
us change yet (no 277CA number, a replacement in flight) keeps the encounter ``pending`` with its
``problem``: the charges are stored and acknowledged, never lost, and billed once the payer allows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.unit import Actor, Unit, Units

from claims.config import ClaimsSettings
from claims.domain import hl7_encounter as enc
from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.repository.hl7 import PENDING, RELEASED, Hl7Repository, person_of
from claims.repository.practice import PracticeRepository
from claims.use_cases.charge_entry import create_claims, update_claim
from claims.use_cases.corrections import correct_claim

log = logging.getLogger(__name__)

EDITABLE = (st.DRAFT, st.READY, st.REJECTED)  # not with the payer: the claim itself is edited
RETRY = timedelta(days=1)  # an encounter that could not become (or follow) its claim is tried again then


def stored(row: Any) -> enc.StoredCharge:
    return enc.StoredCharge(
        id=row.id,
        service_date=row.service_date,
        procedure_code=row.procedure_code,
        modifiers=tuple(m for m in row.modifiers.split(":") if m),
        units_milli=row.units_milli,
        reversed_milli=row.reversed_milli,
        amount_cents=row.amount_cents,
        diagnoses=tuple(row.diagnoses),
        performing_npi=row.performing_npi,
        transaction_id=row.transaction_id,
    )


async def document(unit: Unit, row: Any, settings: ClaimsSettings) -> ClaimCreate:
    """The claim of an encounter as charge entry takes it; ``Invalid`` naming what keeps it from being one."""
    repo = Hl7Repository(unit)
    registered = await repo.registration(row.mrn)
    if registered is None:
        raise Invalid(f"the visit's patient (MRN {row.mrn}) has no registration (ADT)", title="Not billable yet")
    patient_row, coverages = registered
    charges = [stored(r) for r in await repo.charges(row.id)]
    live = [c for c in charges if c.live_milli > 0]
    on = min((c.service_date for c in live), default=datetime.now(UTC).date())
    practice = PracticeRepository(unit)
    payers: dict[str, enc.PayerTerms] = {}
    for coverage in coverages[:2]:
        enrollment = await practice.enrollment(coverage.payer_id, on)
        name = enrollment.name if enrollment else coverage.payer_name
        if not name:
            raise Invalid(
                f"payer {coverage.payer_id} has no name: IN1-4 is empty and the practice has no enrollment for it",
                title="Not billable yet",
            )
        payers[coverage.payer_id] = enc.PayerTerms(name, enrollment.claim_filing_indicator if enrollment else "CI")
    facility = row.facility_id if row.facility_id and await practice.facility(row.facility_id, on) else None
    patient = person_of(patient_row.person)
    assert patient is not None
    try:
        body = enc.claim_document(
            patient, coverages, charges, payers, facility_id=facility, place_of_service=settings.hl7_place_of_service
        )
        return ClaimCreate.model_validate(body)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise Invalid(f"the visit does not make a claim: {fields}", title="Not billable yet") from None
    except ValueError as exc:
        raise Invalid(str(exc), title="Not billable yet") from None


def retry_on(today: date | None = None) -> date:
    """When the worker tries again an encounter whose claim could not be made or follow: a day on, so that
    encounters failing the same way do not fill every pass of the worker ahead of the others."""
    return (today or datetime.now(UTC).date()) + RETRY


async def note_problem(unit: Unit, encounter_id: str, problem: str, today: date | None = None) -> None:
    await Hl7Repository(unit).update_encounter(encounter_id, problem=problem[:2000], due_on=retry_on(today))


async def _new_claim(unit: Unit, doc: ClaimCreate, ctx: ScrubContext) -> str:
    (claim,) = await create_claims(unit, [doc], ctx)
    return str(claim["id"])


async def claim_after(
    unit: Unit, claim: Any, live: bool, doc: Callable[[], Awaitable[ClaimCreate]], ctx: ScrubContext
) -> str:
    """The claim that bills the visit's live charges once ``claim`` (the encounter's) follows them: its id."""
    state, frequency, original = claim.state, claim.frequency, claim.original_claim_id
    if frequency == "8":  # the encounter's claim voids ``original`` at the payer
        if not live:
            return str(claim.id)
        if state in EDITABLE or state == st.VOID:
            # the void never reached the payer: withdrawn, and the original replaced with what is billed now
            if state != st.VOID:
                await correct_claim(unit, claim.id, ctx, void=True)
            return await correct_claim(unit, original, ctx, doc=await doc())
        return await _new_claim(unit, await doc(), ctx)  # the payer voids the original: bill afresh
    if state == st.VOID:  # voided before the payer had it
        if not live:
            return str(claim.id)
        if frequency == "7" and original:
            return await correct_claim(unit, original, ctx, doc=await doc())
        return await _new_claim(unit, await doc(), ctx)
    if state in EDITABLE:
        if live:
            await update_claim(unit, claim.id, await doc(), ctx)
            return str(claim.id)
        voided = await correct_claim(unit, claim.id, ctx, void=True)
        if frequency == "7" and original:
            # an unsent replacement withdrawn leaves its original standing at the payer: void that too
            return await correct_claim(unit, original, ctx, void=True)
        return voided
    if live:
        return await correct_claim(unit, claim.id, ctx, doc=await doc())
    return await correct_claim(unit, claim.id, ctx, void=True)


async def follow(unit: Unit, encounter_id: str, settings: ClaimsSettings, ctx: ScrubContext) -> None:
    """A pending encounter's claim follows its charges; the encounter released again, pointing at the claim
    that bills it. ``Conflict``/``Invalid`` when the claim cannot follow now (nothing changed)."""
    repo = Hl7Repository(unit)
    row = await repo.encounter(encounter_id, lock=True)
    if row.state != PENDING:
        return
    claim = await ClaimsRepository(unit).get(row.claim_id)
    live = any(stored(r).live_milli > 0 for r in await repo.charges(encounter_id))

    async def doc() -> ClaimCreate:
        return await document(unit, row, settings)

    new_id = await claim_after(unit, claim, live, doc, ctx)
    await repo.update_encounter(encounter_id, state=RELEASED, claim_id=new_id, problem=None, due_on=None)


async def follow_up(
    units: Units, tenant: str, encounter_id: str, settings: ClaimsSettings, ctx: ScrubContext, actor: Actor
) -> bool:
    """``follow`` in a transaction of its own; when the claim cannot follow now, the encounter keeps
    ``pending`` with its problem and the worker tries again. True when the claim followed."""
    try:
        async with units.write(tenant, actor) as unit:
            await follow(unit, encounter_id, settings, ctx)
        return True
    except (Conflict, Invalid, NotFound) as exc:  # IllegalTransition is a Conflict
        async with units.write(tenant, actor) as unit:
            await note_problem(unit, encounter_id, f"the visit's claim cannot follow its charges yet: {exc}")
        return False
