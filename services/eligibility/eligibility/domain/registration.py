"""A patient's registration as the EHR's ADT gave it (kept by the claims service: PID, IN1/IN2) and the coverage
inquiry it makes: for one of its coverages, whom a 270 asks about. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import Field, ValidationError, field_validator, model_validator
from rcm_shared.errors import Invalid
from rcm_shared.x12.values import x12_folded

from eligibility.domain.inquiry import CheckCreate, Model, ProviderIn, service_type_codes

SELF = "18"  # the 837's individual relationship code: the patient is the insured
ORDINALS = {1: "primary", 2: "secondary", 3: "tertiary"}
SEXES = ("F", "M", "U")


@dataclass(frozen=True)
class RegisteredPerson:
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None


@dataclass(frozen=True)
class RegisteredCoverage:
    """One IN1 (with its IN2): ``insured`` None when the patient is the insured."""

    position: int  # 1 primary, 2 secondary, 3 tertiary
    payer_id: str
    payer_name: str | None
    member_id: str
    group_number: str | None
    relationship: str  # the 837's code: 18 self, 01 spouse, 19 child, ...
    insured: RegisteredPerson | None = None


@dataclass(frozen=True)
class Registration:
    mrn: str
    patient: RegisteredPerson
    coverages: tuple[RegisteredCoverage, ...] = ()
    merged_into: str | None = None  # an A40 merged this record into that MRN's


class RegistrationCheckCreate(Model):
    """A check of a registered patient's coverage: who is asked about, and at which payer, comes from the
    registration; the caller says when, what for and (optionally) who asks."""

    service_date: date
    service_date_end: date | None = None
    service_types: list[str] = Field(default=["30"], min_length=1, max_length=99)
    coverage: int = Field(
        default=1, ge=1, le=99, description="The coverage's IN1 position: 1 primary, 2 secondary, 3 tertiary"
    )
    provider: ProviderIn | None = Field(
        default=None,
        description="The provider asking (270 loop 2100B), as in `POST /v1/eligibility/checks`; left out, the "
        "organization's billing provider from its practice profile in effect on `service_date`.",
    )

    @field_validator("service_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return service_type_codes(value)

    @model_validator(mode="after")
    def _dates(self) -> RegistrationCheckCreate:
        if self.service_date_end and self.service_date_end < self.service_date:
            raise ValueError("service_date_end is before service_date")
        return self


def _named(position: int) -> str:
    return ORDINALS.get(position) or f"IN1 {position}"


def _person(person: RegisteredPerson, whom: str, mrn: str) -> dict[str, object]:
    """A person as a 270 names them; the registration must give what the 270 needs. Letters with accents are
    written as their base letter (an EHR keeps MUÑOZ, a 270 carries MUNOZ); names longer than the 270 holds are
    cut there (60 characters, a first name 35)."""
    where = "PID-7" if whom == "patient" else "IN2/IN1-18"
    if person.birth_date is None:
        raise Invalid(
            f"the registration of MRN {mrn} has no birth date for the {whom} ({where}): the EHR has to send it",
            title="Incomplete registration",
            missing=f"{whom}.birth_date",
        )
    if not (person.first_name or "").strip():
        raise Invalid(
            f"the registration of MRN {mrn} has no first name for the {whom} "
            f"({'PID-5' if whom == 'patient' else 'IN1-16'}): the EHR has to send it",
            title="Incomplete registration",
            missing=f"{whom}.first_name",
        )
    return {
        "last_name": x12_folded(person.last_name).strip()[:60],
        "first_name": x12_folded(person.first_name or "").strip()[:35],
        "birth_date": person.birth_date,
        "sex": person.sex if person.sex in SEXES else None,
    }


def _letters(text: str | None) -> str:
    """A name as two spellings of it compare: its letters and digits, upper case, without accents."""
    return "".join(c for c in x12_folded(text or "").upper() if c.isalnum())


def _same_person(one: RegisteredPerson, other: RegisteredPerson) -> bool:
    """Whether two people of a registration are one, as far as both say: the family names, the given names
    and the birth dates compared where both give them (case, accents, spacing and punctuation aside)."""
    for mine, theirs in ((one.last_name, other.last_name), (one.first_name, other.first_name)):
        if _letters(mine) and _letters(theirs) and _letters(mine) != _letters(theirs):
            return False
    return one.birth_date is None or other.birth_date is None or one.birth_date == other.birth_date


def coverage_at(registration: Registration, position: int) -> RegisteredCoverage:
    """The registration's coverage at an IN1 position; ``Invalid`` naming the positions it has otherwise."""
    for coverage in registration.coverages:
        if coverage.position == position:
            return coverage
    positions = [c.position for c in registration.coverages]
    have = (
        "it has " + ", ".join(f"{p} ({_named(p)})" for p in positions)
        if positions
        else "it has none (the EHR's ADT carried no IN1)"
    )
    raise Invalid(
        f"the registration of MRN {registration.mrn} has no coverage at position {position}: {have}",
        title="No such coverage",
        positions=positions,
    )


def inquiry_from_registration(registration: Registration, ask: RegistrationCheckCreate) -> CheckCreate:
    """The inquiry about one of a registered patient's coverages. The subscriber is the coverage's insured
    person when the registration names one other than the patient (the patient then the dependent), else
    the patient; the member id and group number are the coverage's, the payer its payer (named by its id when
    the registration has no name). Raises ``Invalid`` naming what the registration lacks for a 270, or a
    coverage that says the patient is the insured and names someone else as the insured: asked about as the
    subscriber under that person's member id, the patient would be taken for them."""
    coverage = coverage_at(registration, ask.coverage)
    mrn = registration.mrn
    if coverage.relationship == SELF and coverage.insured and not _same_person(coverage.insured, registration.patient):
        raise Invalid(
            f"the registration of MRN {mrn} says the patient is the insured of its {_named(ask.coverage)} coverage "
            "(relationship self) but names another person as the insured (IN1-16, IN1-18): the EHR has to send "
            "the insured's relationship to the patient (IN1-17)",
            title="Inconsistent registration",
            coverage=ask.coverage,
        )
    someone_else = coverage.relationship != SELF and coverage.insured is not None
    subscriber = _person(coverage.insured, "insured", mrn) if coverage.insured and someone_else else None
    patient = _person(registration.patient, "patient", mrn)
    values = {
        "provider": ask.provider,
        "payer_id": coverage.payer_id,
        "payer_name": (x12_folded(coverage.payer_name or "").strip() or coverage.payer_id)[:60],
        "subscriber": {
            **(subscriber or patient),
            "member_id": coverage.member_id,
            "group_number": (coverage.group_number or "").strip() or None,
        },
        "dependent": patient if subscriber else None,
        "service_date": ask.service_date,
        "service_date_end": ask.service_date_end,
        "service_types": ask.service_types,
    }
    try:
        return CheckCreate.model_validate(values)
    except ValidationError as exc:
        # what the registration holds that no 270 can carry (a one-character member id, a delimiter): by
        # field, without the values
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Invalid(
            f"the registration of MRN {mrn} cannot be asked about in a 270 ({_named(ask.coverage)} coverage): "
            f"{problems}",
            title="Incomplete registration",
        ) from None
