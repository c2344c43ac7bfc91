"""Test data for the claims API: a clean professional encounter (scrubs with no edit), helpers to break it one
rule at a time, and the dates around it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from builders import changed

TODAY = datetime.now(UTC).date()
DOS = (TODAY - timedelta(days=10)).isoformat()

CLEAN: dict[str, Any] = {
    "kind": "professional",
    "billing_provider": {
        "npi": "1234567893",
        "name": "Valley Family Clinic",
        "taxonomy": "207Q00000X",
        "tax_id": "123456789",
        "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "627011234"},
    },
    "rendering_provider": {
        "npi": "1679576722",
        "name": "Smith",
        "first_name": "John",
        "is_person": True,
        "taxonomy": "207R00000X",
    },
    "facility_code": "11",
    "subscriber": {
        "last_name": "Doe",
        "first_name": "Jane",
        "birth_date": "1980-02-29",
        "sex": "F",
        "member_id": "W123456789",
        "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
    },
    "payer": {"payer_id": "MCRB1", "name": "Medicare Part B", "filing_indicator": "MB"},
    "diagnoses": ["E11.9", "I10"],
    "lines": [
        {
            "procedure_code": "99214",
            "modifiers": ["25"],
            "charge": "200.00",
            "units": "1",
            "service_date": DOS,
            "diagnosis_pointers": [1, 2],
        },
        {"procedure_code": "83036", "charge": "45.50", "units": "1", "service_date": DOS, "diagnosis_pointers": [1]},
    ],
}


def encounter(**changes: Any) -> dict[str, Any]:
    """CLEAN with changes; a key like 'lines.0.units' reaches into nested values."""
    return changed(CLEAN, changes)


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def on(d: str) -> date:
    return date.fromisoformat(d)
