"""Charges from HL7 (DFT^P03): FT1 charges gathered per encounter (the visit number, PV1-19) until the
charge-hold window ends or someone releases the encounter; then it becomes a claim through charge entry
(``create_claims``: the same completion, pricing and scrubber as ``POST /v1/claims``). A reversal before
that takes the charge off; after, the claim is edited while it has not reached the payer (draft, ready,
rejected), else corrected (``hl7_follow``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.unit import Actor, Unit, Units

from claims.config import ClaimsSettings
from claims.domain import hl7 as h
from claims.domain import hl7_encounter as enc
from claims.domain.scrubber import ScrubContext
from claims.repository.hl7 import OPEN, PENDING, RELEASED, Hl7Repository, due_encounters, person_json
from claims.use_cases.charge_entry import create_claims
from claims.use_cases.hl7_follow import document, follow_up, note_problem, stored

RELEASER = Actor("hl7-charge-hold")  # the worker, releasing encounters whose hold has ended


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


async def apply_dft(unit: Unit, dft: h.Dft, settings: ClaimsSettings, ctx: ScrubContext) -> Applied:
    """The message's charges and reversals on its encounter (opened at its first charge), the hold window
    moved to the latest date of service. An encounter already a claim turns ``pending``: its claim follows
    (``hl7_follow.follow_up``) once this transaction has committed, so that the charges stay stored whatever
    the payer's standing of the claim. The patient is registered by ADT: a DFT's PID updates the
    registration only when the DFT carries IN1 or GT1 too."""
    repo = Hl7Repository(unit)
    if dft.registration.coverages is not None or dft.registration.guarantor is not None:
        await repo.save_registration(dft.registration, dft.header.control_id)
    if not dft.charges:
        return Applied(dft.notices, None)
    await _check_codes(unit, dft.charges)
    row = await repo.encounter_of_visit(dft.visit_number)
    if row is None:
        encounter_id, state, charges = str(uuid.uuid4()), OPEN, []
    else:
        if row.mrn != dft.registration.mrn and not await repo.same_patient(row.mrn, dft.registration.mrn):
            raise h.MessageError(
                h.DUPLICATE_KEY_IDENTIFIER,
                "PV1-19 names a visit of another patient",
                h.Location("PV1", 1, 19),
            )
        encounter_id, state = row.id, row.state
        charges = [stored(r) for r in await repo.charges(encounter_id)]
    rows: dict[str, dict[str, Any]] = {}  # the message's new charges, by id
    changed: dict[str, int] = {}  # stored charges' new reversed units
    notices = list(dft.notices)
    for charge in dft.charges:
        if charge.reversal:
            taken = enc.reverse(charges, charge)
            charges = [replace(c, reversed_milli=taken[c.id]) if c.id in taken else c for c in charges]
            for charge_id, milli in taken.items():
                if charge_id in rows:
                    rows[charge_id]["reversed_milli"] = milli
                else:
                    changed[charge_id] = milli
        elif charge.transaction_id and any(c.transaction_id == charge.transaction_id for c in charges):
            # the same transaction sent again (under another control id): billed once
            text = f"FT1-2 {charge.transaction_id} is a charge the visit has already: not applied again"
            notices.append(h.Notice(h.DUPLICATE_KEY_IDENTIFIER, text, h.Location("FT1", charge.sequence, 2)))
        else:
            values = _charge_row(encounter_id, dft.header.control_id, charge)
            rows[values["id"]] = values
            charges.append(stored(SimpleNamespace(**values)))
    due = enc.due_on(charges, settings.hl7_charge_hold_days)
    if row is None:
        await repo.open_encounter(encounter_id, dft.visit_number, dft.registration.mrn, dft.facility_id, due)
    await repo.add_charges(list(rows.values()))
    await repo.set_reversed(changed)
    if state == OPEN:
        if row is not None:
            await repo.update_encounter(encounter_id, due_on=due)
        return Applied(tuple(notices), None)
    if not rows and not changed:
        return Applied(tuple(notices), None)
    await repo.update_encounter(encounter_id, state=PENDING, due_on=datetime.now(UTC).date(), problem=None)
    return Applied(tuple(notices), encounter_id)


@dataclass(frozen=True, slots=True)
class Applied:
    notices: tuple[h.Notice, ...]  # the ACK's warnings
    follow: str | None  # the released encounter whose claim is to follow now


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
        "transaction_id": c.transaction_id,
    }


async def release(unit: Unit, encounter_id: str, settings: ClaimsSettings, ctx: ScrubContext) -> Any:
    """The encounter becomes a claim now (whatever its hold); its row as stored after."""
    repo = Hl7Repository(unit)
    row = await repo.encounter(encounter_id, lock=True)
    if row.state != OPEN:
        raise Conflict(f"encounter {encounter_id} is already claim {row.claim_id}", title="Already released")
    doc = await document(unit, row, settings)
    (claim,) = await create_claims(unit, [doc], ctx)
    now = datetime.now(UTC)
    await repo.update_encounter(
        encounter_id, state=RELEASED, claim_id=claim["id"], released_at=now, problem=None, due_on=None
    )
    return await repo.encounter(encounter_id)


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
    """Release every open encounter whose hold has ended, and have the claim of every pending one follow its
    charges, each in a transaction of its own. One that does not make (or follow) its claim says why
    (``problem``) and is tried again a day on (``hl7_follow.RETRY``), so that failing encounters never
    hold up the others. Returns how many became claims."""
    day = today or datetime.now(UTC).date()
    async with units.read(settings.default_tenant) as unit:
        due = await due_encounters(unit.conn, day, limit)
    released = 0
    for tenant, encounter_id, state in due:
        if state == PENDING:
            await follow_up(units, tenant, encounter_id, settings, ctx, RELEASER)
            continue
        try:
            async with units.write(tenant, RELEASER) as unit:
                await release(unit, encounter_id, settings, ctx)
            released += 1
        except (Invalid, Conflict, NotFound) as exc:
            async with units.write(tenant, RELEASER) as unit:
                await note_problem(unit, encounter_id, str(exc), day)
    return released
