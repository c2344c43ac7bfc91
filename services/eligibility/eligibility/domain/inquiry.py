"""A coverage inquiry as the caller asks it: the provider, the payer, the member (and a dependent), the dates and
service types, each validated before a 270 is built from it; and the provider a 270 names. Pure data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rcm_shared.x12.identifiers import npi_valid
from rcm_shared.x12.values import X12_TEXT, x12_folded


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Provider:
    """The information receiver of a 270 (loop 2100B): the provider asking the payer."""

    npi: str
    name: str  # an organization's name, or a person's last name
    first_name: str | None = None
    is_person: bool = False


class ProviderIn(Model):
    npi: str = Field(pattern=r"^\d{10}$")
    name: str = Field(min_length=1, max_length=60, pattern=X12_TEXT)
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_TEXT)

    @field_validator("npi")
    @classmethod
    def _check_digit(cls, value: str) -> str:
        if not npi_valid(value):
            raise ValueError("NPI fails the check digit: re-key it from the NPPES record")
        return value

    def as_provider(self) -> Provider:
        """A provider named with a first name is a person; without one, an organization."""
        return Provider(self.npi, self.name, self.first_name, is_person=self.first_name is not None)


def practice_provider(npi: str, name: str, first_name: str | None, *, is_person: bool) -> Provider:
    """A practice's billing provider as its 270s name it, checked as a provider a caller sends would be. Letters
    with accents are written as their base letter, names longer than the 270 holds (NM103 60, NM104 35
    characters) are cut there; an organization has no first name. Raises ``ValueError`` naming each field that
    cannot go into a 270 (a bad NPI, a delimiter or a control character in a name)."""
    first = (x12_folded(first_name).strip()[:35] or None) if first_name and is_person else None
    try:
        checked = ProviderIn(npi=npi, name=x12_folded(name).strip()[:60], first_name=first)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the billing provider cannot be named in a 270: {problems}") from None
    return Provider(checked.npi, checked.name, checked.first_name, is_person=is_person)


class PersonIn(Model):
    last_name: str = Field(min_length=1, max_length=60, pattern=X12_TEXT)
    first_name: str = Field(min_length=1, max_length=35, pattern=X12_TEXT)
    birth_date: date
    sex: Literal["F", "M", "U"] | None = None

    @field_validator("birth_date")
    @classmethod
    def _past(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("birth date is in the future")
        return value


class SubscriberIn(PersonIn):
    member_id: str = Field(min_length=2, max_length=80, pattern=X12_TEXT)
    group_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        pattern=X12_TEXT,
        description="The plan's group number (the 270's REF*6P): some payers need it to find the member",
    )


def service_type_codes(value: list[str]) -> list[str]:
    """Service type codes as a 270 asks them: each checked, upper case, once each, in order."""
    for code in value:
        if not (1 <= len(code) <= 2 and code.isalnum()):
            raise ValueError(f"{code!r} is not a service type code (1-2 letters or digits, e.g. 30)")
    return sorted(set(code.upper() for code in value))


class CheckCreate(Model):
    provider: ProviderIn | None = Field(
        default=None,
        description="The provider asking (270 loop 2100B, the information receiver). Leave it out to ask as the "
        "organization's billing provider, from its practice profile (kept by the claims service) in effect "
        "on `service_date`. Send it when the answer depends on who asks (a specialist's network status, a "
        "referral). Left out while the organization has no practice profile: 422 'No provider for the 270'.",
    )
    payer_id: str = Field(min_length=1, max_length=80, pattern=X12_TEXT)
    payer_name: str = Field(min_length=1, max_length=60, pattern=X12_TEXT)
    subscriber: SubscriberIn
    dependent: PersonIn | None = None
    service_date: date
    service_date_end: date | None = None
    service_types: list[str] = Field(default=["30"], min_length=1, max_length=99)

    @field_validator("service_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return service_type_codes(value)

    @model_validator(mode="after")
    def _dates(self) -> CheckCreate:
        if self.service_date_end and self.service_date_end < self.service_date:
            raise ValueError("service_date_end is before service_date")
        return self


def asked_for(last_name: str, first_name: str | None, birth_date: date | None) -> str:
    """Whose coverage a check is about, as its reuse key: a digest of the person's name and birth date (the
    dependent's when there is one, else the subscriber's), case and spacing aside. A member id does not name one
    person: a dependent has none of its own, and a member id keyed for another person (a typo, a borrowed card)
    names someone else; without the person in the key one person's benefits, name and birth date would answer
    another's question."""
    person = "|".join((last_name.strip().upper(), (first_name or "").strip().upper(), str(birth_date or "")))
    return hashlib.sha256(person.encode()).hexdigest()[:32]
