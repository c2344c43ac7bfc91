"""Charges from HL7 (DFT^P03): FT1 charges gathered per encounter (the visit number, PV1-19) until the
charge-hold window ends or someone releases the encounter; then it becomes a claim through charge entry
(``create_claims``: the same completion, pricing and scrubber as ``POST /v1/claims``). A reversal before
that takes the charge off; after, the claim is edited while it has not reached the payer (draft, ready,
rejected), else corrected (a frequency-7 replacement, or a void when nothing is left to bill)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError
from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.unit import Actor, Unit, Units

from claims.config import ClaimsSettings
from claims.domain import hl7 as h
from claims.domain import hl7_encounter as enc
from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.repository.hl7 import OPEN, RELEASED, Hl7Repository, due_encounters, person_json, person_of
from claims.repository.practice import PracticeRepository
from claims.use_cases.charge_entry import create_claims, update_claim
from claims.use_cases.corrections import correct_claim

EDITABLE = (st.DRAFT, st.READY, st.REJECTED)  # not with the payer: the claim itself is edited
RELEASER = Actor("hl7-charge-hold")  # the worker, releasing encounters whose hold has ended


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
    )


async def _check_codes(unit: Unit, charges: Sequence[h.ChargeIn]) -> None:
    """A code that came as FT1-7's transaction code (FT1-25 empty) must be one of the practice's charge
    master on the date of service: the charge master is what maps transaction codes to CPT/HCPCS."""
    wanted = [c for c in charges if c.code_from_transaction]
    if not wanted:
        return
    versions = await Hl7Repository(unit).charge_master_codes({c.procedure_code for c in wanted})
    for charge in wanted:
        day = charge.service_date
        if not any(
            code == charge.procedure_code and start <= day and (end is None or end >= day)
            for code, start, end in versions
        ):
            raise h.MessageError(
                h.TABLE_VALUE_NOT_FOUND,
                f"FT1-7 {charge.procedure_code} is not in the charge master on FT1-4's date, and FT1-25 is empty",
                h.Location("FT1", charge.sequence, 7, 1),
            )


async def apply_dft(unit: Unit, dft: h.Dft, settings: ClaimsSettings, ctx: ScrubContext) -> None:
    """The message's charges and reversals on its encounter (opened at its first charge), the hold window
    moved to the latest date of service; an encounter already a claim has the claim follow. The patient is
    registered by ADT: a DFT's PID updates the registration only when the DFT carries IN1 or GT1 too."""
    repo = Hl7Repository(unit)
    if dft.registration.coverages is not None or dft.registration.guarantor is not None:
        await repo.save_registration(dft.registration, dft.header.control_id)
    if not dft.charges:
        return
    await _check_codes(unit, dft.charges)
    row = await repo.encounter_of_visit(dft.visit_number)
    if row is None:
        encounter_id, state, charges = str(uuid.uuid4()), OPEN, []
    else:
        if row.mrn != dft.registration.mrn:
            raise h.MessageError(
                h.DUPLICATE_KEY_IDENTIFIER,
                "PV1-19 names a visit of another patient",
                h.Location("PV1", 1, 19),
            )
        encounter_id, state = row.id, row.state
        charges = [stored(r) for r in await repo.charges(encounter_id)]
    rows: dict[str, dict[str, Any]] = {}  # the message's new charges, by id
    changed: dict[str, int] = {}  # stored charges' new reversed units
    for charge in dft.charges:
        if charge.reversal:
            taken = enc.reverse(charges, charge)
            charges = [replace(c, reversed_milli=taken[c.id]) if c.id in taken else c for c in charges]
            for charge_id, milli in taken.items():
                if charge_id in rows:
                    rows[charge_id]["reversed_milli"] = milli
                else:
                    changed[charge_id] = milli
        else:
            values = _charge_row(encounter_id, dft.header.control_id, charge)
            rows[values["id"]] = values
            charges.append(stored(SimpleNamespace(**values)))
    due = enc.due_on(charges, settings.hl7_charge_hold_days)
    if row is None:
        await repo.open_encounter(encounter_id, dft.visit_number, dft.registration.mrn, dft.facility_id, due)
    await repo.add_charges(list(rows.values()))
    await repo.set_reversed(changed)
    if row is not None and state == OPEN:
        await repo.update_encounter(encounter_id, due_on=due)
    elif state != OPEN:
        await _follow(unit, encounter_id, settings, ctx)


def _charge_row(encounter_id: str, control_id: str, c: h.ChargeIn) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "encounter_id": encounter_id,
        "control_id": control_id[:199],
        "set_id": c.set_id,
        "service_date": c.service_date,
        "procedure_code": c.procedure_code,
        "modifiers": ":".join(c.modifiers),
        "transaction_code": c.transaction_code[:80],
        "units_milli": c.units_milli,
        "amount_cents": c.extended_cents,
        "diagnoses": list(c.diagnoses),
        "performing_npi": c.performing_npi,
        "ordering_npi": c.ordering_npi,
        "reversed_milli": 0,
    }


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


async def release(unit: Unit, encounter_id: str, settings: ClaimsSettings, ctx: ScrubContext) -> Any:
    """The encounter becomes a claim now (whatever its hold); its row as stored after."""
    repo = Hl7Repository(unit)
    row = await repo.encounter(encounter_id, lock=True)
    if row.state == RELEASED:
        raise Conflict(f"encounter {encounter_id} is already claim {row.claim_id}", title="Already released")
    doc = await document(unit, row, settings)
    (claim,) = await create_claims(unit, [doc], ctx)
    now = datetime.now(UTC)
    await repo.update_encounter(encounter_id, state=RELEASED, claim_id=claim["id"], released_at=now, problem=None)
    return await repo.encounter(encounter_id)


async def note_problem(unit: Unit, encounter_id: str, problem: str) -> None:
    await Hl7Repository(unit).update_encounter(encounter_id, problem=problem[:2000])


async def _follow(unit: Unit, encounter_id: str, settings: ClaimsSettings, ctx: ScrubContext) -> None:
    """A released encounter changed: its claim is edited while not with the payer, else corrected (replaced,
    or voided when no charge is left). A claim the payer's standing does not let us change yet is an error
    of the message (nothing of it is applied): the sender may send it again later."""
    repo = Hl7Repository(unit)
    row = await repo.encounter(encounter_id, lock=True)
    claims = ClaimsRepository(unit)
    try:
        claim = await claims.get(row.claim_id)
        live = [c for c in (stored(r) for r in await repo.charges(encounter_id)) if c.live_milli > 0]
        if not live:
            new_id = await correct_claim(unit, claim.id, ctx, void=True)
        elif claim.state in EDITABLE:
            await update_claim(unit, claim.id, await document(unit, row, settings), ctx)
            new_id = claim.id
        else:
            new_id = await correct_claim(unit, claim.id, ctx, doc=await document(unit, row, settings))
    except (Conflict, Invalid, NotFound) as exc:
        raise h.MessageError(
            h.APPLICATION_RECORD_LOCKED,
            f"the visit's claim {row.claim_id} cannot follow the change now: {exc}",
            h.Location("FT1", 1, 0),
        ) from None
    if new_id != row.claim_id:
        await repo.update_encounter(encounter_id, claim_id=new_id)


async def list_encounters(unit: Unit, state: str | None, mrn: str | None, limit: int, offset: int) -> list[Any]:
    return await Hl7Repository(unit).encounters(state, mrn, limit, offset)


async def get_encounter(unit: Unit, encounter_id: str) -> tuple[Any, list[Any]]:
    repo = Hl7Repository(unit)
    return await repo.encounter(encounter_id), await repo.charges(encounter_id)


async def get_registration(unit: Unit, mrn: str) -> tuple[Any, list[h.Coverage]]:
    found = await Hl7Repository(unit).registration(mrn)
    if found is None:
        raise NotFound(f"no patient registered with MRN {mrn}")
    return found


def person_values(person: h.Person) -> dict[str, Any]:
    return person_json(person) or {}


async def release_due(
    units: Units, settings: ClaimsSettings, ctx: ScrubContext, *, today: date | None = None, limit: int = 500
) -> int:
    """Release every encounter whose hold has ended, each in a transaction of its own; one that does not make
    a claim keeps its hold over and says why (``problem``), tried again on the next pass. Returns how many
    became claims."""
    async with units.read(settings.default_tenant) as unit:
        due = await due_encounters(unit.conn, today or datetime.now(UTC).date(), limit)
    released = 0
    for tenant, encounter_id in due:
        try:
            async with units.write(tenant, RELEASER) as unit:
                await release(unit, encounter_id, settings, ctx)
            released += 1
        except (Invalid, Conflict) as exc:
            async with units.write(tenant, RELEASER) as unit:
                await note_problem(unit, encounter_id, str(exc))
    return released
