"""What a held 835 carries, as the payer sent it: each claim (and by how much it does not foot), each PLB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field


@dataclass(frozen=True)
class HeldClaim:
    claim_id: str
    payer_claim_control_number: str
    status_code: str
    charge_cents: int
    paid_cents: int
    adjustments_cents: int
    off_by_cents: Annotated[int, Field(description="charge - paid - adjustments: 0 when the claim foots")]


@dataclass(frozen=True)
class HeldPlb:
    provider_id: str
    reason: str
    reference: str
    amount_cents: Annotated[int, Field(description="positive: taken from the payment")]


@dataclass(frozen=True)
class HeldContents:
    claims: list[HeldClaim]
    provider_adjustments: list[HeldPlb]
