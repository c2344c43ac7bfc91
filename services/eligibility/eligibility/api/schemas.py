"""API schemas of the eligibility service: a check asked (the domain's inquiry) and answered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from eligibility.domain.inquiry import CheckCreate
from eligibility.domain.registration import RegistrationCheckCreate

__all__ = ["BatchCreate", "CheckCreate", "CheckRead", "RegistrationCheckCreate"]


class CheckRead(BaseModel):
    id: str
    status: str
    source: str = Field(description="the adapter that answered, 'ingested', or the check reused from cache")
    cached: bool = False
    payer_id: str
    member_id: str
    service_date: date
    service_types: list[str]
    result: dict[str, Any] = Field(description="the normalized benefits")
    created_at: datetime


class BatchCreate(BaseModel):
    checks: list[CheckCreate] = Field(min_length=1, max_length=5000)
    per_payer_concurrency: int = Field(default=4, ge=1, le=50)
