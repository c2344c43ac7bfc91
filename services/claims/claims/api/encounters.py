"""HTTP routes of what the HL7 interfaces brought in (docs/hl7.md): the encounters gathering charges (DFT^P03)
and the patients' registrations (ADT)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep

from claims.api.deps import ScrubDep, SettingsDep
from claims.use_cases import hl7_charges

router = APIRouter(prefix="/v1", tags=["hl7 encounters"])


class ChargeRead(BaseModel):
    id: str
    control_id: str  # the DFT message's MSH-10
    transaction_id: str | None = None  # FT1-2
    set_id: int
    service_date: date
    procedure_code: str
    modifiers: list[str]
    transaction_code: str
    units: Decimal
    reversed_units: Decimal
    amount: Decimal | None  # as sent for all its units; None: the charge master prices it
    diagnoses: list[str]
    performing_npi: str | None
    ordering_npi: str | None
    received_at: datetime


class EncounterRead(BaseModel):
    id: str
    visit_number: str
    mrn: str
    facility_id: str | None
    state: Literal["open", "released", "pending"]
    due_on: date | None  # the worker releases it from this day (None: no charge to bill)
    claim_id: str | None
    problem: str | None  # why the last release made no claim
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None
    charges: list[ChargeRead] = []


class PersonRead(BaseModel):
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    address: dict[str, Any] | None = None


class CoverageRead(BaseModel):
    position: int  # 1 primary, 2 secondary, 3 tertiary
    payer_id: str
    payer_name: str | None
    member_id: str
    group_number: str | None
    relationship: str  # the 837's code: 18 self, 01 spouse, 19 child, ...
    insured: PersonRead | None


class PatientRead(BaseModel):
    mrn: str
    patient: PersonRead
    guarantor: PersonRead | None
    coverages: list[CoverageRead]
    merged_into: str | None
    updated_at: datetime


def _encounter(row: Any, charges: list[Any] | None = None) -> EncounterRead:
    values = {k: getattr(row, k) for k in EncounterRead.model_fields if k != "charges"}
    return EncounterRead(**values, charges=[_charge(c) for c in charges or []])


def _charge(row: Any) -> ChargeRead:
    values = {k: getattr(row, k) for k in ChargeRead.model_fields if hasattr(row, k)}
    return ChargeRead(
        **{
            **values,
            "modifiers": [m for m in row.modifiers.split(":") if m],
            "units": Decimal(row.units_milli) / 1000,
            "reversed_units": Decimal(row.reversed_milli) / 1000,
            "amount": Decimal(row.amount_cents) / 100 if row.amount_cents is not None else None,
        }
    )


@router.get(
    "/encounters",
    response_model=list[EncounterRead],
    summary="The encounters the HL7 charges (DFT^P03) gathered, oldest first (without their charges)",
)
async def list_encounters(
    units: UnitsDep,
    tenant: TenantDep,
    state: Literal["open", "released", "pending"] | None = None,
    mrn: Annotated[str | None, Query(max_length=80, description="the patient's medical record number")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[EncounterRead]:
    async with units.read(tenant) as unit:
        return [_encounter(r) for r in await hl7_charges.list_encounters(unit, state, mrn, limit, offset)]


@router.get("/encounters/{encounter_id}", response_model=EncounterRead, summary="One encounter and its charges")
async def get_encounter(encounter_id: str, units: UnitsDep, tenant: TenantDep) -> EncounterRead:
    async with units.read(tenant) as unit:
        row, charges = await hl7_charges.get_encounter(unit, encounter_id)
    return _encounter(row, charges)


@router.post(
    "/encounters/{encounter_id}:release",
    response_model=EncounterRead,
    summary="Make the encounter a claim now, before its charge hold ends (409 when already one; 422 naming "
    "what keeps it from being one: no registration, no coverage, no charge left, no diagnosis)",
)
async def release(
    encounter_id: str, units: UnitsDep, tenant: TenantDep, actor: ActorDep, settings: SettingsDep, scrub: ScrubDep
) -> EncounterRead:
    async with units.write(tenant, actor) as unit:
        row = await hl7_charges.release(unit, encounter_id, settings, scrub.context())
        charges = (await hl7_charges.get_encounter(unit, encounter_id))[1]
    return _encounter(row, charges)


@router.get(
    "/patients/{mrn}",
    response_model=PatientRead,
    summary="A patient's registration from HL7 ADT: demographics, guarantor, coverages in order",
)
async def get_patient(mrn: str, units: UnitsDep, tenant: TenantDep) -> PatientRead:
    async with units.read(tenant) as unit:
        row, coverages = await hl7_charges.get_registration(unit, mrn)
    return PatientRead(
        mrn=row.mrn,
        patient=PersonRead(**row.person),
        guarantor=PersonRead(**row.guarantor) if row.guarantor else None,
        coverages=[
            CoverageRead(
                position=position,
                payer_id=c.payer_id,
                payer_name=c.payer_name,
                member_id=c.member_id,
                group_number=c.group_number,
                relationship=c.relationship,
                insured=PersonRead(**hl7_charges.person_values(c.insured)) if c.insured else None,
            )
            for position, c in enumerate(coverages, start=1)
        ],
        merged_into=row.merged_into,
        updated_at=row.updated_at,
    )
