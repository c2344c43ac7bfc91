"""The reads of the API: a claim, the list, a claim's history and status records, the interchange it went in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit

from claims.repository import ClaimsRepository, SubmissionsRepository


async def get_claim(unit: Unit, claim_id: str) -> Any:
    return await ClaimsRepository(unit).get(claim_id)


async def list_claims(
    unit: Unit, states: Sequence[str] | None, payer_id: str | None, limit: int, offset: int
) -> list[Any]:
    """The tenant's claims, oldest first, in these states (any when None) and of this payer (any when None)."""
    return await ClaimsRepository(unit).page(states, payer_id, limit, offset)


async def claim_history(unit: Unit, claim_id: str) -> list[Any]:
    """Every transition of the claim: from, to, who, why, when."""
    claims = ClaimsRepository(unit)
    await claims.get(claim_id)
    return await claims.history(claim_id)


async def claim_status_records(unit: Unit, claim_id: str) -> list[Any]:
    """Acknowledgments and status answers received, 276 inquiries sent, 835s recorded, in order."""
    claims = ClaimsRepository(unit)
    await claims.get(claim_id)
    return await claims.status_records(claim_id)


async def claim_x12(unit: Unit, claim_id: str) -> str:
    """The interchange the claim was sent in, as stored when it was sent."""
    row = await ClaimsRepository(unit).get(claim_id)
    if row.submission_id is None:
        raise NotFound(f"claim {claim_id} has not been sent yet (state {row.state})", title="Not submitted")
    return await SubmissionsRepository(unit).x12(row.submission_id)
