"""Eligibility answers from the eligibility service, kept for the scrubber (the member's latest coverage)."""

from __future__ import annotations

from datetime import UTC, datetime

from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.unit import Unit

from claims.repository import ClaimsRepository


async def on_eligibility(unit: Unit, event: EligibilityCheckCompletedV1) -> None:
    await ClaimsRepository(unit).store_eligibility(
        {
            "check_id": event.check_id,
            "payer_id": event.payer_id,
            "member_id": event.member_id,
            "status": event.status,
            "coverage_start": event.coverage_start,
            "coverage_end": event.coverage_end,
            "service_date": event.service_date,
            "checked_at": datetime.now(UTC),
        }
    )
