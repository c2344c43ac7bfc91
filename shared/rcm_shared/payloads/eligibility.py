"""Events produced by the eligibility service."""

from __future__ import annotations

from datetime import date

from rcm_shared.events import EventPayload


class EligibilityCheckCompletedV1(EventPayload):
    """A coverage check finished, keyed by check id. Ids and status only: no names, no birth dates."""

    event_type = "eligibility.check_completed"
    schema_version = 1

    check_id: str
    payer_id: str
    member_id: str
    status: str  # active | inactive | error
    service_date: date
    coverage_start: date | None = None
    coverage_end: date | None = None
    plan: str | None = None
    error_codes: list[str] = []  # AAA03 reasons when status is error
