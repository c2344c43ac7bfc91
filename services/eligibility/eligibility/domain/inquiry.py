"""A coverage inquiry as the caller asks it: the provider, the payer, the member (and a dependent), the dates and
service types, each validated before a 270 is built from it. Pure data."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rcm_shared.x12.identifiers import npi_valid

X12_SAFE = r"^[^*~^:|\\]*$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProviderIn(Model):
    npi: str = Field(pattern=r"^\d{10}$")
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_SAFE)

    @field_validator("npi")
    @classmethod
    def _check_digit(cls, value: str) -> str:
        if not npi_valid(value):
            raise ValueError("NPI fails the check digit: re-key it from the NPPES record")
        return value


class PersonIn(Model):
    last_name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    first_name: str = Field(min_length=1, max_length=35, pattern=X12_SAFE)
    birth_date: date
    sex: Literal["F", "M", "U"] | None = None

    @field_validator("birth_date")
    @classmethod
    def _past(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("birth date is in the future")
        return value


class SubscriberIn(PersonIn):
    member_id: str = Field(min_length=2, max_length=80, pattern=X12_SAFE)


class CheckCreate(Model):
    provider: ProviderIn
    payer_id: str = Field(min_length=1, max_length=80, pattern=X12_SAFE)
    payer_name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    subscriber: SubscriberIn
    dependent: PersonIn | None = None
    service_date: date
    service_date_end: date | None = None
    service_types: list[str] = Field(default=["30"], min_length=1, max_length=99)

    @field_validator("service_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (1 <= len(code) <= 2 and code.isalnum()):
                raise ValueError(f"{code!r} is not a service type code (1-2 letters or digits, e.g. 30)")
        return sorted(set(code.upper() for code in value))

    @model_validator(mode="after")
    def _dates(self) -> CheckCreate:
        if self.service_date_end and self.service_date_end < self.service_date:
            raise ValueError("service_date_end is before service_date")
        return self
